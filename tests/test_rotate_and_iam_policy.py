"""`rotate` puts a new version with one key changed; `iam-policy` names exactly the configured secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import SENTINEL, Cli, Create, Launch, assert_no_leak, aws_env, base_env, write


@pytest.fixture
def nextauth(create_secret: Create) -> str:
    return create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": f"old-{SENTINEL}", "OTHER": "kept"})


def current(secretsmanager: Any, stage: str = "AWSCURRENT") -> dict[str, str]:
    answer = secretsmanager.get_secret_value(SecretId="calitho-suite/nextauth", VersionStage=stage)
    value: dict[str, str] = json.loads(answer["SecretString"])
    return value


def test_rotate_generate_changes_only_that_key_and_keeps_the_old_version_as_awsprevious(
    cli: Cli, tmp_path: Path, aws: str, nextauth: str, secretsmanager: Any
) -> None:
    result = cli(
        "rotate",
        "calitho-suite/nextauth",
        "NEXTAUTH_SECRET",
        "--generate",
        "--length",
        "64",
        env=aws_env(aws, tmp_path),
    )
    assert result.returncode == 0, result.output()
    new = current(secretsmanager)
    assert len(new["NEXTAUTH_SECRET"]) == 64
    assert new["OTHER"] == "kept"
    assert current(secretsmanager, "AWSPREVIOUS")["NEXTAUTH_SECRET"] == f"old-{SENTINEL}"
    version = secretsmanager.get_secret_value(SecretId="calitho-suite/nextauth", VersionStage="AWSCURRENT")["VersionId"]
    assert result.stdout == f"{version}\n"
    assert "restart the processes that use it" in result.stderr
    assert_no_leak(result, [new["NEXTAUTH_SECRET"], SENTINEL])


def test_rotate_stdin_takes_the_value_from_standard_input(
    cli: Cli, tmp_path: Path, aws: str, nextauth: str, secretsmanager: Any
) -> None:
    result = cli(
        "rotate", nextauth, "NEXTAUTH_SECRET", "--stdin", env=aws_env(aws, tmp_path), stdin="typed-new-value\n"
    )
    assert result.returncode == 0, result.output()
    assert current(secretsmanager)["NEXTAUTH_SECRET"] == "typed-new-value"
    assert_no_leak(result, ["typed-new-value", SENTINEL])


@pytest.mark.parametrize("flags", [[], ["--generate", "--stdin"]])
def test_rotate_needs_exactly_one_source_of_the_value(cli: Cli, tmp_path: Path, aws: str, flags: list[str]) -> None:
    result = cli("rotate", "calitho-suite/nextauth", "NEXTAUTH_SECRET", *flags, env=aws_env(aws, tmp_path))
    assert result.returncode == 2


def test_rotate_of_a_key_the_secret_does_not_have_is_a_configuration_error(
    cli: Cli, tmp_path: Path, aws: str, nextauth: str
) -> None:
    result = cli("rotate", "calitho-suite/nextauth", "TYPO", "--generate", env=aws_env(aws, tmp_path))
    assert result.returncode == 78
    assert "has no key TYPO" in result.stderr
    assert_no_leak(result)


def test_rotate_of_a_missing_secret_fails_with_the_setup_hint(cli: Cli, tmp_path: Path, aws: str) -> None:
    result = cli("rotate", "calitho-suite/none", "KEY", "--generate", env=aws_env(aws, tmp_path))
    assert result.returncode == 1
    assert "calitho-env setup" in result.stderr


def policy_resources(result: Launch) -> list[str]:
    assert result.returncode == 0, result.output()
    document = json.loads(result.stdout)
    resources: list[str] = document["Statement"][0]["Resource"]
    return resources


def test_the_policy_names_exactly_the_configured_secrets(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    exact = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pinned-AbC123"
    write(
        project / ".env",
        f"AWS_SECRET_DATABASE=calitho-suite/database\nAWS_SECRET_PINNED={exact}\n"
        "REF=arn:aws:secretsmanager:us-west-1:123456789012:secret:calitho-suite/redis:REDIS_URL\n",
    )
    result = cli("iam-policy", env=aws_env(aws, tmp_path))
    assert policy_resources(result) == sorted(
        [
            "arn:aws:secretsmanager:us-west-1:123456789012:secret:calitho-suite/database-??????",
            exact,
            "arn:aws:secretsmanager:us-west-1:123456789012:secret:calitho-suite/redis-??????",
        ]
    )
    statement = json.loads(result.stdout)["Statement"][0]
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert statement["Effect"] == "Allow"


def test_account_flag_and_setup_actions(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    env = base_env(tmp_path, {"AWS_REGION": "us-west-1"})
    result = cli("iam-policy", "--account", "111122223333", "--for", "setup", env=env)
    assert policy_resources(result) == [
        "arn:aws:secretsmanager:us-west-1:111122223333:secret:calitho-suite/database-??????"
    ]
    assert "secretsmanager:CreateSecret" in json.loads(result.stdout)["Statement"][0]["Action"]


def test_an_unknown_account_becomes_a_wildcard_with_a_warning(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("iam-policy", env=base_env(tmp_path, {"AWS_REGION": "us-west-1"}))
    assert policy_resources(result) == ["arn:aws:secretsmanager:us-west-1:*:secret:calitho-suite/database-??????"]
    assert "pass --account ID" in result.stderr


def test_setup_policy_without_mappings_covers_the_seed_secrets(cli: Cli, project: Path, tmp_path: Path) -> None:
    result = cli("iam-policy", "--for", "setup", "--account", "1", env=base_env(tmp_path, {"AWS_REGION": "us-west-1"}))
    assert [arn.split(":secret:")[1] for arn in policy_resources(result)] == [
        "calitho-suite/database-??????",
        "calitho-suite/nextauth-??????",
        "calitho-suite/redis-??????",
    ]


def test_no_configured_secrets_is_a_configuration_error(cli: Cli, project: Path, tmp_path: Path) -> None:
    result = cli("iam-policy", "--account", "1", env=base_env(tmp_path))
    assert result.returncode == 78
    assert "no secrets are configured" in result.stderr
