"""--regions: a misspelt region is refused before anything starts; failures name the regions asked; -v says
when --regions overrides AWS_REGION."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Cli, assert_no_leak, aws_env, write

PRIMARY, REPLICA = "us-west-1", "us-east-2"


def production(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    return aws_env(endpoint, home, NODE_ENV="production", **extra)


@pytest.fixture
def mapped(project: Path) -> None:
    write(project / ".env", f"AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL={SENTINEL}\n")


def test_a_misspelt_region_is_refused_before_anything_starts(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, mapped: None
) -> None:
    marker = project / "started"
    result = cli(
        "run", "--regions", "us-wset-2,us-east-2", "--", "touch", str(marker), env=production(proxy.url, tmp_path)
    )
    assert result.returncode == 78
    assert "--regions: us-wset-2 is not an AWS region" in result.stderr
    assert "did you mean us-west-2?" in result.stderr
    assert not marker.exists()
    assert sum(proxy.calls.values()) == 0
    assert_no_leak(result)


def test_when_every_region_fails_the_message_names_each_region_tried(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, mapped: None
) -> None:
    proxy.add(Fault("InternalServiceError", status=500))
    result = cli("run", "--regions", f"{PRIMARY},{REPLICA}", "--", "true", env=production(proxy.url, tmp_path))
    assert result.returncode == 0, result.output()
    assert f"), asked in each region tried: {PRIMARY} (InternalServiceError), {REPLICA};" in result.stderr
    assert_no_leak(result)


def test_a_secret_not_found_names_the_region_it_was_asked_in(
    cli: Cli, project: Path, tmp_path: Path, aws: str, mapped: None
) -> None:
    result = cli("run", "--", "true", env=production(aws, tmp_path))
    assert "secret calitho-suite/database could not be fetched (ResourceNotFoundException" in result.stderr
    assert f"), asked in {PRIMARY};" in result.stderr
    assert_no_leak(result)


def test_verbose_says_when_regions_overrides_aws_region(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    client = boto3.client("secretsmanager", region_name=REPLICA, endpoint_url=aws,
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    client.create_secret(Name="calitho-suite/database", SecretString=json.dumps({"DATABASE_URL": REPLICA}))
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("-v", "run", "--regions", f"{REPLICA},{PRIMARY}", "--", "true", env=production(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert f"--regions: secrets are asked in {REPLICA} first, not in AWS_REGION={PRIMARY}" in result.stderr
    quiet = cli("run", "--regions", f"{REPLICA},{PRIMARY}", "--", "true", env=production(aws, tmp_path))
    assert "--regions:" not in quiet.stderr
