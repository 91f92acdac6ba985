"""What a failure says: where, which secret, the right service's fix, once; never a value, never None."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.harness import SENTINEL, Cli, Create, assert_no_leak, base_env, production_env, write


def test_malformed_json_says_where_and_never_what(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("broken", f'{{"DATABASE_URL": "x",\n  "PASSWORD": {SENTINEL}}}')
    write(project / ".env", "AWS_SECRET_BROKEN=broken\n")
    result = cli("run", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert "secret broken holds malformed JSON: Expecting value at line 2, column 15" in result.stderr
    assert_no_leak(result)


def test_a_plain_string_secret_points_at_the_reference_that_takes_the_whole_value(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("plain", f"hunter2-{SENTINEL}")
    write(project / ".env", "AWS_SECRET_PLAIN=plain\n")
    result = cli("run", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert "secret plain is a plain string, not a JSON object" in result.stderr
    assert "NAME=<the secret's ARN>" in result.stderr
    assert "whole SecretString" in result.stderr
    assert_no_leak(result)


@pytest.mark.parametrize(
    ("key", "named"),
    [("DATABASE URL", "the key 'DATABASE URL'"), (f"postgres://app:{SENTINEL}@db/app", "the key of 37 characters")],
)
def test_a_secret_key_that_is_no_variable_name_is_named_with_a_secrets_fix(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, key: str, named: str
) -> None:
    create_secret("odd", {key: "v"})
    write(project / ".env", "AWS_SECRET_ODD=odd\n")
    result = cli("run", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert f"secret odd: {named}" in result.stderr
    assert "rename the key in the secret" in result.stderr
    assert "line of its own" not in result.stderr
    assert_no_leak(result)


def test_one_cause_for_several_secrets_gives_its_hint_once(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", "AWS_SECRET_A=missing/a\nAWS_SECRET_B=missing/b\nAWS_SECRET_C=missing/c\n")
    result = cli("run", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert result.stderr.count("could not be fetched") == 3
    assert result.stderr.count("hint: verify the secret name matches exactly") == 1


def test_parameter_store_failures_get_parameter_store_hints(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "AWS_SSM_PATH_APP=/calitho/prod/\n")
    env = production_env("http://127.0.0.1:9", tmp_path)
    result = cli("run", "--timeout", "2", "--", "true", env=env)
    assert "AWS_ENDPOINT_URL_SSM" in result.stderr
    assert "AWS_ENDPOINT_URL_SECRETS_MANAGER" not in result.stderr
    assert "Secrets Manager" not in result.stderr


def test_require_names_the_secret_that_failed_for_the_variable(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("run", "--require", "DATABASE_URL", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    assert (
        "required variable(s) missing or empty: DATABASE_URL (not fetched, so perhaps a key of: "
        "secret calitho-suite/database (ResourceNotFoundException))" in result.stderr
    )
    assert "hint: verify the secret name matches exactly" in result.stderr


def test_a_launch_refused_for_a_missing_variable_still_says_everything_the_launch_found(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("app", {"NODE_OPTIONS": f"--require /tmp/{SENTINEL}.js", "PORT": "3000"})
    write(project / ".env", "AWS_SECRET_APP=app\nAWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("run", "--require", "DATABASE_URL", "--", "true", env=production_env(aws, tmp_path))
    assert result.returncode == 78
    warnings = [line for line in result.stderr.splitlines() if line.startswith("calitho-env: warning:")]
    assert any("calitho-suite/database could not be fetched (ResourceNotFoundException" in w for w in warnings)
    assert any("may not set NODE_OPTIONS" in w for w in warnings)  # the refusal is not lost behind the error
    assert result.stderr.rstrip().splitlines()[-2].startswith("calitho-env: error: required variable(s) missing")
    assert_no_leak(result)


def test_a_shell_line_given_as_the_command_is_told_to_use_sh_c(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "--", "echo $X", env=base_env(tmp_path))
    assert result.returncode == 127
    assert "run it through a shell, e.g. calitho-env run -- sh -c '...'" in result.stderr
    plain = cli("run", "--", "no-such-program", env=base_env(tmp_path))
    assert "sh -c" not in plain.stderr


def test_check_of_a_parameter_path_never_says_none(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    ssm: Any = boto3.client("ssm", region_name="us-west-1", endpoint_url=aws,
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    ssm.put_parameter(Name="/calitho/prod/setting", Value=SENTINEL, Type="String")
    write(project / ".env", "AWS_SSM_PATH_APP=/calitho/prod/\n")
    result = cli("check", "--mode", "production", env=production_env(aws, tmp_path))
    assert "keys: SETTING" in result.stdout
    assert "None" not in result.stdout
    assert_no_leak(result)
    report = cli("check", "--mode", "production", "--format", "json", env=production_env(aws, tmp_path))
    assert json.loads(report.stdout)["ok"] is True
