"""README promises no other test held to: each through the real CLI (or the Python API in a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import (
    DUMP_ENV,
    REGION,
    SENTINEL,
    Cli,
    Create,
    assert_no_leak,
    assert_no_leak_on_stderr,
    aws_env,
    base_env,
    write,
)

PRIMARY, REPLICA = "us-west-1", "us-east-2"


def production(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    return aws_env(endpoint, home, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=endpoint, **extra)


def cascade(project: Path) -> None:
    """One file per mode, each saying which mode read it."""
    for mode in ("development", "production", "test"):
        write(project / f".env.{mode}", f"READ_BY={mode}\n")


# --- the mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "mode"),
    [
        ({"NODE_ENV": "Production"}, "production"),
        ({"NODE_ENV": "TEST"}, "test"),
        ({"CALITHO_ENV_MODE": "Development", "NODE_ENV": "production"}, "development"),
        ({"MODE_FLAG": "PRODUCTION"}, "production"),
    ],
)
def test_mode_values_are_case_insensitive(
    cli: Cli, project: Path, tmp_path: Path, how: dict[str, str], mode: str
) -> None:
    cascade(project)
    flag = ["--mode", how.pop("MODE_FLAG")] if "MODE_FLAG" in how else []
    result = cli("print", "--format", "json", *flag, "READ_BY", env=base_env(tmp_path, how))
    assert json.loads(result.stdout) == {"READ_BY": mode}, result.stderr


def test_node_env_in_an_env_file_does_not_choose_the_mode(cli: Cli, project: Path, tmp_path: Path) -> None:
    cascade(project)
    write(project / ".env", "NODE_ENV=production\n")
    result = cli("print", "--format", "json", "READ_BY", "NODE_ENV", env=base_env(tmp_path))
    assert json.loads(result.stdout) == {"READ_BY": "development", "NODE_ENV": "production"}


# --- fallback ----------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["0", "false", "no", "off", "OFF"])
def test_calitho_env_fallback_false_no_off_mean_none(
    cli: Cli, project: Path, tmp_path: Path, aws: str, word: str
) -> None:
    write(project / ".env", f"AWS_SECRET_GONE=calitho-suite/gone\nTOKEN={SENTINEL}\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path, CALITHO_ENV_FALLBACK=word))
    assert result.returncode == 69
    assert_no_leak(result)


# --- the Python API's cache ----------------------------------------------------------------------


@pytest.mark.serial  # the cached read must come within the TTL of the first
def test_calitho_env_cache_ttl_is_the_default_max_age_of_the_api(
    project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/app", {"TOKEN": "one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    # Read, change the secret, read at once (cached), wait past the TTL, read again (fresh).
    program = (
        "import sys, time, calitho_env\n"
        "first = calitho_env.get_secret('TOKEN')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "cached = calitho_env.get_secret('TOKEN')\n"
        "time.sleep(4.5)\n"
        "print(first, cached, calitho_env.get_secret('TOKEN'))\n"
    )
    outcomes = {}
    for ttl in ("4", ""):
        env = production(aws, tmp_path, CALITHO_ENV_CACHE_TTL=ttl) if ttl else production(aws, tmp_path)
        child = subprocess.Popen(
            [sys.executable, "-c", program], cwd=project, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=json.dumps({"TOKEN": f"two{ttl}"}))
        out, err = child.communicate("go\n", timeout=30)
        assert child.returncode == 0, err
        outcomes[ttl] = out.split()  # after "ready"
        secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=json.dumps({"TOKEN": "one"}))
    assert outcomes["4"] == ["one", "one", "two4"]  # cached within the TTL, fresh after it
    assert outcomes[""] == ["one", "one", "one"]  # no TTL: read once per process


def test_a_cache_ttl_that_is_not_a_number_is_a_configuration_error(project: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, {"CALITHO_ENV_CACHE_TTL": "soon"})
    program = (
        "import calitho_env\n"
        "try:\n    calitho_env.get_secret('X')\n"
        "except calitho_env.ConfigurationError as e:\n    print(e.exit_code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "78", done.stderr


# --- check -------------------------------------------------------------------------------------


def test_check_reports_a_secret_scheduled_for_deletion(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/app", {"TOKEN": SENTINEL})
    secretsmanager.delete_secret(SecretId="calitho-suite/app", RecoveryWindowInDays=7)
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    result = cli("check", env=production(aws, tmp_path))
    assert result.returncode == 1
    assert "secret calitho-suite/app is scheduled for deletion" in result.stdout
    assert "restore-secret" in result.stdout
    assert_no_leak(result)


def test_check_reports_a_reference_to_a_key_the_secret_lacks(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/app", {"TOKEN": SENTINEL})
    write(project / ".env", f"API_KEY={arn}:API_KEY::\n")
    result = cli("check", env=production(aws, tmp_path))
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1
    assert "API_KEY" in problems[0]
    assert_no_leak(result)


# --- failover ----------------------------------------------------------------------------------


@pytest.fixture
def two_regions(aws: str) -> None:
    """A secret and a parameter in each region, each value naming its region."""
    for region in (PRIMARY, REPLICA):
        keys: dict[str, Any] = {
            "region_name": region, "endpoint_url": aws, "aws_access_key_id": "t", "aws_secret_access_key": "t"
        }  # fmt: skip
        boto3.client("secretsmanager", **keys).create_secret(Name="app", SecretString=json.dumps({"TOKEN": region}))
        boto3.client("ssm", **keys).put_parameter(Name="/app/token", Value=region, Type="SecureString")


def test_a_parameter_fails_over_to_the_replica_region(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, two_regions: None
) -> None:
    proxy.add(Fault("InternalServiceError", status=500, action="GetParameters", region=PRIMARY))
    write(project / ".env", f"PARAM=arn:aws:ssm:{PRIMARY}:123456789012:parameter/app/token\n")
    result = cli("run", "--regions", f"{PRIMARY},{REPLICA}", "--", *DUMP_ENV, env=production(proxy.url, tmp_path))
    assert result.child_env()["PARAM"] == REPLICA
    assert f"read from the replica in {REPLICA}" in result.stderr
    assert proxy.calls["GetParameters"] >= 2


def test_an_answer_that_is_not_aws_fails_over_to_the_replica_region(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, two_regions: None
) -> None:
    proxy.add(Fault(status=200, body=b"<html>captive portal</html>", action="GetSecretValue", region=PRIMARY))
    write(project / ".env", f"AWS_SECRET_APP=app\nTOKEN={SENTINEL}\n")
    result = cli("run", "--regions", f"{PRIMARY},{REPLICA}", "--", *DUMP_ENV, env=production(proxy.url, tmp_path))
    assert result.child_env()["TOKEN"] == REPLICA
    assert f"{PRIMARY} (InvalidResponse)" in result.stderr
    assert_no_leak_on_stderr(result)


# --- setup --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_mode", "expected"), [([], "from-production"), (["--from-mode", "development"], "from-development")]
)
def test_setup_takes_its_values_from_the_env_files_of_from_mode(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any, from_mode: list[str], expected: str
) -> None:
    write(project / ".env.production", "APP_KEY=from-production\n")
    write(project / ".env.development", "APP_KEY=from-development\n")
    result = cli("setup", "--yes", "--no-edit", "--secret", "calitho-suite/app=APP_KEY", *from_mode,
                 env=aws_env(aws, tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = json.loads(secretsmanager.get_secret_value(SecretId="calitho-suite/app")["SecretString"])
    assert stored == {"APP_KEY": expected}
    assert "from-" not in result.output()
    assert REGION  # the secret is in the default region of the environment
