"""Parameter Store references and paths, and failover to replica regions, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from bench.aws_proxy import AwsProxy, Fault
from calitho_env.aws.fetch import fetch_all
from calitho_env.core.fetched import FetchedPath, FetchFailure
from calitho_env.core.secret_requests import PARAMETER, PATH, SecretRequest
from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    assert_no_leak,
    assert_no_leak_on_stderr,
    production_env,
    write,
)

ARN = "arn:aws:ssm:us-west-1:123456789012:parameter"


# --- Parameter Store ------------------------------------------------------------------------


def test_a_parameter_reference_is_replaced_by_its_decrypted_value_with_ssm_provenance(
    cli: Cli, project: Path, tmp_path: Path, aws: str, ssm: Any
) -> None:
    ssm.put_parameter(Name="/calitho/prod/db", Value=f"postgres://{SENTINEL}", Type="SecureString")
    ssm.put_parameter(Name="plain", Value="hello", Type="String")
    write(project / ".env", f"DATABASE_URL={ARN}/calitho/prod/db\nGREETING={ARN}/plain\nDB_PARAM_ARN={ARN}/plain\n")
    env = production_env(aws, tmp_path)
    child = cli("run", "--", *DUMP_ENV, env=env).child_env()
    assert (child["DATABASE_URL"], child["GREETING"]) == (f"postgres://{SENTINEL}", "hello")
    assert child["DB_PARAM_ARN"] == f"{ARN}/plain"  # an _ARN name is never a reference
    table = cli("print", "--format", "table", "--wide", env=env).stdout
    assert "ssm:/calitho/prod/db@1" in table
    assert SENTINEL not in table


def test_a_path_maps_every_parameter_under_it_across_pages(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, ssm: Any
) -> None:
    for index in range(12):  # GetParametersByPath answers 10 a page
        ssm.put_parameter(Name=f"/calitho/prod/setting-{index}", Value=f"v{index}", Type="String")
    ssm.put_parameter(Name="/calitho/prod/nested/redis.url", Value="redis://x", Type="SecureString")
    ssm.put_parameter(Name="/calitho/other/skip", Value="no", Type="String")
    write(project / ".env", "AWS_SSM_PATH_APP=/calitho/prod\n")
    proxy.reset_counts()
    child = cli("run", "--fallback", "none", "--", *DUMP_ENV, env=production_env(proxy.url, tmp_path)).child_env()
    assert {child[f"SETTING_{index}"] for index in range(12)} == {f"v{index}" for index in range(12)}
    assert child["REDIS_URL"] == "redis://x"
    assert "SKIP" not in child
    assert proxy.calls["GetParametersByPath"] == 2


def test_twelve_parameter_references_take_two_calls(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, ssm: Any
) -> None:
    for index in range(12):
        ssm.put_parameter(Name=f"/p/{index}", Value=f"v{index}", Type="String")
    write(project / ".env", "".join(f"P{index}={ARN}/p/{index}\n" for index in range(12)))
    proxy.reset_counts()
    child = cli("run", "--", *DUMP_ENV, env=production_env(proxy.url, tmp_path)).child_env()
    assert [child[f"P{index}"] for index in range(12)] == [f"v{index}" for index in range(12)]
    assert dict(proxy.calls) == {"GetParameters": 2}


def test_a_missing_parameter_falls_back_with_a_warning_or_exits_69(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", f"TOKEN={ARN}/calitho/missing\n")
    write(project / ".env.production", f"TOKEN={SENTINEL}-fallback\n")
    (project / ".env").write_text("TOKEN=plain\n")
    env = production_env(aws, tmp_path, TOKEN=f"{ARN}/calitho/missing")
    result = cli("run", "--", *DUMP_ENV, env=env)
    assert result.child_env()["TOKEN"] == f"{SENTINEL}-fallback"
    assert "parameter /calitho/missing could not be fetched (ParameterNotFound" in result.stderr
    assert "(ssm:GetParameters)" in result.stderr
    assert_no_leak_on_stderr(result)
    assert cli("run", "--fallback", "none", "--", "true", env=env).returncode == 69


def test_access_denied_on_parameters_falls_back(cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy) -> None:
    proxy.add(Fault("AccessDeniedException", action="GetParametersByPath"))
    write(project / ".env", "AWS_SSM_PATH_APP=/calitho/prod/\n")
    write(project / ".env.production", "SETTING=fallback\n")
    result = cli("run", "--", *DUMP_ENV, env=production_env(proxy.url, tmp_path))
    assert result.child_env()["SETTING"] == "fallback"
    assert "parameter path /calitho/prod/ could not be fetched (AccessDeniedException" in result.stderr


def test_a_segment_that_is_no_variable_name_exits_78_naming_the_parameter(
    cli: Cli, project: Path, tmp_path: Path, aws: str, ssm: Any
) -> None:
    ssm.put_parameter(Name="/calitho/prod/9lives", Value=SENTINEL, Type="SecureString")
    write(project / ".env", "AWS_SSM_PATH_APP=/calitho/prod/\n")
    result = cli("run", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert "parameter /calitho/prod/9lives (under /calitho/prod/)" in result.stderr
    assert_no_leak(result)


def test_a_parameter_may_not_set_a_protected_name(cli: Cli, project: Path, tmp_path: Path, aws: str, ssm: Any) -> None:
    ssm.put_parameter(Name="/evil/opts", Value="--require=/tmp/x.js", Type="String")
    write(project / ".env", f"NODE_OPTIONS={ARN}/evil/opts\n")
    result = cli("run", "--", *DUMP_ENV, env=production_env(aws, tmp_path))
    assert "NODE_OPTIONS" not in result.child_env()
    assert "may not set NODE_OPTIONS" in result.stderr


def test_iam_policy_and_check_cover_parameters(cli: Cli, project: Path, tmp_path: Path, aws: str, ssm: Any) -> None:
    ssm.put_parameter(Name="/calitho/prod/db", Value="x", Type="SecureString")
    write(project / ".env", f"DATABASE_URL={ARN}/calitho/prod/db\nAWS_SSM_PATH_APP=/calitho/prod/\n")
    env = production_env(aws, tmp_path)
    policy = json.loads(cli("iam-policy", "--account", "123456789012", env=env).stdout)
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "CalithoEnvParameters"]
    assert statement["Action"] == ["ssm:GetParameters", "ssm:GetParametersByPath"]
    assert statement["Resource"] == [
        "arn:aws:ssm:us-west-1:123456789012:parameter/calitho/prod",
        "arn:aws:ssm:us-west-1:123456789012:parameter/calitho/prod/*",
        "arn:aws:ssm:us-west-1:123456789012:parameter/calitho/prod/db",
    ]
    check = cli("check", env=env)
    assert check.returncode == 0, check.stdout
    assert "ok   parameter /calitho/prod/db  (used by DATABASE_URL)" in check.stdout
    assert "ok   parameter path /calitho/prod/  (used by AWS_SSM_PATH_APP)" in check.stdout


def test_parameters_in_process_under_mock_aws(in_process_aws: None) -> None:
    client = boto3.client("ssm", region_name="us-west-1")
    client.put_parameter(Name="/a/one", Value="1", Type="String")
    client.put_parameter(Name="/a/two", Value="2", Type="SecureString")
    one, missing, path = fetch_all(
        [
            SecretRequest("/a/one", kind=PARAMETER),
            SecretRequest("/a/none", kind=PARAMETER),
            SecretRequest("/a/", kind=PATH),
        ],
        timeout=5,
    )
    assert one.secret is not None
    assert one.secret.referenced_value(None, "ONE") == "1"
    assert isinstance(missing.outcome, FetchFailure)
    assert missing.outcome.code == "ParameterNotFound"
    assert isinstance(path.outcome, FetchedPath)
    assert path.outcome.variables() == {"ONE": "1", "TWO": "2"}


# --- replica regions ------------------------------------------------------------------------

PRIMARY, REPLICA = "us-west-1", "us-east-2"


@pytest.fixture
def replicated(aws: str) -> None:
    """calitho-suite/database in both regions, each value naming its region (a replica holds the same)."""
    for region in (PRIMARY, REPLICA):
        client = boto3.client("secretsmanager", region_name=region, endpoint_url=aws,
                              aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        client.create_secret(Name="calitho-suite/database", SecretString=json.dumps({"DATABASE_URL": region}))


REGIONAL_FAULTS = [
    Fault("InternalServiceError", status=500, region=PRIMARY),
    Fault("ThrottlingException", status=400, region=PRIMARY),
    Fault(drop=True, region=PRIMARY),
]


@pytest.mark.parametrize("fault", REGIONAL_FAULTS, ids=["5xx", "throttled", "connection dropped"])
def test_a_regional_failure_is_asked_of_the_replica_before_any_fallback(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, replicated: None, fault: Fault
) -> None:
    proxy.add(fault)
    write(project / ".env", f"AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL={SENTINEL}\n")
    env = production_env(proxy.url, tmp_path)
    result = cli("-v", "run", "--regions", f"{PRIMARY},{REPLICA}", "--", *DUMP_ENV, env=env)
    assert result.child_env()["DATABASE_URL"] == REPLICA
    assert f"calitho-suite/database: {PRIMARY} (" in result.stderr
    assert f"read from the replica in {REPLICA}" in result.stderr
    assert f"from {REPLICA}" in result.stderr  # -v names the region
    assert_no_leak_on_stderr(result)
    table = cli(
        "print", "--format", "table", "--wide", env={**env, "CALITHO_ENV_REGIONS": f"{PRIMARY},{REPLICA}"}
    ).stdout
    assert f"(replica {REPLICA})" in table


def test_an_arn_is_asked_in_the_replica_with_the_replicas_region(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, replicated: None
) -> None:
    proxy.add(Fault("InternalServiceError", status=500, region=PRIMARY))
    partial = f"arn:aws:secretsmanager:{PRIMARY}:123456789012:secret:calitho-suite/database"
    write(project / ".env", f"AWS_SECRET_DATABASE={partial}\n")
    env = production_env(proxy.url, tmp_path, CALITHO_ENV_REGIONS=f"{PRIMARY},{REPLICA}")
    assert cli("run", "--", *DUMP_ENV, env=env).child_env()["DATABASE_URL"] == REPLICA


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure"])
def test_failures_that_are_not_regional_do_not_fail_over(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, replicated: None, code: str
) -> None:
    proxy.add(Fault(code, region=PRIMARY))
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL=fallback\n")
    result = cli("run", "--regions", f"{PRIMARY},{REPLICA}", "--", *DUMP_ENV, env=production_env(proxy.url, tmp_path))
    assert result.child_env()["DATABASE_URL"] == "fallback"
    assert proxy.regions[REPLICA] == 0


@pytest.mark.serial
def test_a_stalled_primary_costs_a_short_first_try_within_the_deadline(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, replicated: None
) -> None:
    proxy.add(Fault(stall=True, region=PRIMARY))
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("run", "--regions", f"{PRIMARY},{REPLICA}", "--timeout", "6", "--", *DUMP_ENV,
                 env=production_env(proxy.url, tmp_path))  # fmt: skip
    assert result.child_env()["DATABASE_URL"] == REPLICA
    assert result.seconds < 5  # the first try's read timeout (2 s at --timeout 6), then the replica


def test_the_failover_is_a_json_event_naming_both_regions(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, replicated: None
) -> None:
    proxy.add(Fault("InternalServiceError", status=500, region=PRIMARY))
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("--log-format", "json", "run", "--regions", f"{PRIMARY},{REPLICA}", "--", "true",
                 env=production_env(proxy.url, tmp_path))  # fmt: skip
    (event,) = [json.loads(line) for line in result.stderr.splitlines() if "region_failover" in line]
    assert (event["failed_regions"], event["region"]) == ([PRIMARY], REPLICA)


def test_regions_must_be_region_names(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    result = cli("print", "--regions", "us-west-1,not a region", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert "--regions: 1 item(s) are not region names" in result.stderr
