"""ECS-style references: NAME=arn:...:secret:ID[:json-key[:version-stage[:version-id]]]."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import DUMP_ENV, SENTINEL, Cli, assert_no_leak, write


@pytest.fixture
def versioned(secretsmanager: Any) -> dict[str, str]:
    """A secret with two versions: the previous and the current."""
    arn = secretsmanager.create_secret(
        Name="calitho-suite/database", SecretString=json.dumps({"DATABASE_URL": "postgres://old", "POOL": 5})
    )["ARN"]
    first = secretsmanager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = secretsmanager.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"DATABASE_URL": "postgres://new", "POOL": 10})
    )["VersionId"]
    base = arn.rsplit("-", 1)[0]  # the ARN without the random suffix, as people write it
    return {"arn": arn, "base": base, "previous": next(iter(first)), "current": current}


def test_a_reference_to_a_json_key_is_replaced_by_that_key(
    cli: Cli, project: Path, prod_env: dict[str, str], versioned: dict[str, str]
) -> None:
    write(project / ".env", f"DATABASE_URL={versioned['base']}:DATABASE_URL::\n")
    assert cli("run", "--", *DUMP_ENV, env=prod_env).child_env()["DATABASE_URL"] == "postgres://new"


def test_a_reference_without_a_key_is_the_whole_secret_string(
    cli: Cli, project: Path, prod_env: dict[str, str], versioned: dict[str, str]
) -> None:
    prod_env["WHOLE"] = versioned["arn"]
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert json.loads(child["WHOLE"]) == {"DATABASE_URL": "postgres://new", "POOL": 10}


def test_a_reference_honours_the_version_stage(
    cli: Cli, project: Path, prod_env: dict[str, str], versioned: dict[str, str]
) -> None:
    write(project / ".env", f"OLD={versioned['base']}:DATABASE_URL:AWSPREVIOUS:\nPOOL={versioned['arn']}:POOL\n")
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["OLD"] == "postgres://old"
    assert child["POOL"] == "10"


def test_a_reference_honours_the_version_id(
    cli: Cli, project: Path, prod_env: dict[str, str], versioned: dict[str, str]
) -> None:
    write(project / ".env", f"OLD={versioned['arn']}:DATABASE_URL::{versioned['previous']}\n")
    result = cli("print", "--format", "table", "--wide", env=prod_env)
    assert result.stdout.split("\n")[1].split()[:2] == ["OLD", f"aws:{versioned['arn']}@{versioned['previous']}"]
    assert cli("run", "--", *DUMP_ENV, env=prod_env).child_env()["OLD"] == "postgres://old"


def test_a_reference_that_fails_falls_back_to_the_next_value_down(
    cli: Cli, project: Path, prod_env: dict[str, str]
) -> None:
    write(project / ".env", "DATABASE_URL=postgres://file\n")
    prod_env["DATABASE_URL"] = "arn:aws:secretsmanager:us-west-1:123456789012:secret:missing:DATABASE_URL::"
    prod_env["ONLY_REFERENCE"] = "arn:aws:secretsmanager:us-west-1:123456789012:secret:missing"
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    child = result.child_env()
    assert child["DATABASE_URL"] == "postgres://file"
    assert "ONLY_REFERENCE" not in child
    assert "ResourceNotFoundException" in result.stderr
    table = cli("print", "--format", "table", "--wide", env=prod_env).stdout
    assert "fallback:file:.env:1" in table


def test_a_reference_that_fails_without_fallback_exits_69(cli: Cli, project: Path, prod_env: dict[str, str]) -> None:
    write(project / ".env", f"DATABASE_URL=postgres://{SENTINEL}\n")
    prod_env["DATABASE_URL"] = "arn:aws:secretsmanager:us-west-1:123456789012:secret:missing"
    result = cli("run", "--no-fallback", "--", "true", env=prod_env)
    assert result.returncode == 69
    assert_no_leak(result)


def test_a_reference_to_a_missing_key_is_a_configuration_error(
    cli: Cli, project: Path, prod_env: dict[str, str], versioned: dict[str, str]
) -> None:
    write(project / ".env", f"X={versioned['arn']}:NO_SUCH_KEY\n")
    result = cli("run", "--", "true", env=prod_env)
    assert result.returncode == 78
    assert "has no key 'NO_SUCH_KEY'" in result.stderr
    assert "postgres://" not in result.output()


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:secretsmanager:us-west-1:123456789012:secret:",
        "arn:aws:secretsmanager:us-west-1:1234:secret:name",
        "arn:aws:secretsmanager:nowhere:123456789012:secret:name",
        "arn:aws:secretsmanager:us-west-1:123456789012:secret:name:key:stage:version:extra",
        "arn:aws:secretsmanager:us-west-1:123456789012:secret:name:key::not-a-version-id",
        "arn:aws:secretsmanager:us-west-1:123456789012:parameter:name",
    ],
)
def test_a_malformed_reference_is_a_configuration_error_naming_the_variable(
    cli: Cli, project: Path, prod_env: dict[str, str], value: str
) -> None:
    write(project / ".env", f"BROKEN_REF={value}\n")
    result = cli("run", "--", "true", env=prod_env)
    assert result.returncode == 78
    assert "BROKEN_REF (file:.env:1): malformed secret reference" in result.stderr


def test_references_are_left_alone_in_development(cli: Cli, project: Path, prod_env: dict[str, str]) -> None:
    reference = "arn:aws:secretsmanager:us-west-1:123456789012:secret:name"
    write(project / ".env", f"REF={reference}\n")
    del prod_env["NODE_ENV"]
    assert cli("run", "--", *DUMP_ENV, env=prod_env).child_env()["REF"] == reference
