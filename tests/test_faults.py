"""Faults: AWS misbehaves, the launcher keeps the container starting or fails clearly, in time.

Each is an end-to-end launch of the real CLI against moto's server, through the tests'
own proxy where moto cannot produce the fault. Every env file and secret holds a sentinel
that must never be printed.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from calitho_env.aws.session import MAX_ATTEMPTS
from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    Create,
    Launch,
    assert_no_leak,
    assert_no_leak_on_stderr,
    aws_env,
    base_env,
    write,
)

NAMES = ("database", "nextauth", "redis")
FILE_VALUES = {
    "DATABASE_URL": f"postgres://file-{SENTINEL}",
    "NEXTAUTH_SECRET": f"file-{SENTINEL}",
    "REDIS_URL": f"redis://file-{SENTINEL}",
}
SECRET_VALUES = {
    "DATABASE_URL": f"postgres://aws-{SENTINEL}",
    "NEXTAUTH_SECRET": f"aws-{SENTINEL}",
    "REDIS_URL": f"redis://aws-{SENTINEL}",
}
TIMEOUT = 2.0
# These launches are timed against --timeout, or load both cores: run alone (see Makefile).
pytestmark = pytest.mark.serial


@pytest.fixture
def seeded(project: Path, create_secret: Create) -> Path:
    """Calitho Suite's three secrets in moto, and a .env mapping them with fallback values."""
    for name, key in zip(NAMES, SECRET_VALUES, strict=True):
        create_secret(f"calitho-suite/{name}", {key: SECRET_VALUES[key]})
    lines = [f"AWS_SECRET_{name.upper()}=calitho-suite/{name}\n" for name in NAMES]
    lines += [f"{key}={value}\n" for key, value in FILE_VALUES.items()]
    write(project / ".env", "".join(lines))
    return project


def launch_through(cli: Cli, endpoint: str, home: Path, *flags: str, **env: str) -> Launch:
    environment = aws_env(endpoint, home, NODE_ENV="production", **env)
    return cli("run", "--timeout", str(TIMEOUT), *flags, "--", *DUMP_ENV, env=environment)


def assert_fell_back(result: Launch, code: str, names: tuple[str, ...] = NAMES) -> None:
    child = result.child_env()
    for name in names:
        key = {"database": "DATABASE_URL", "nextauth": "NEXTAUTH_SECRET", "redis": "REDIS_URL"}[name]
        assert child[key] == FILE_VALUES[key]
        assert f"secret calitho-suite/{name} could not be fetched ({code}" in result.stderr
    assert result.seconds < TIMEOUT + 1.0, f"took {result.seconds:.2f} s"
    assert_no_leak_on_stderr(result)


def assert_fatal(result: Launch, code: str) -> None:
    assert result.returncode == 69
    assert code in result.stderr
    assert result.seconds < TIMEOUT + 1.0, f"took {result.seconds:.2f} s"
    assert_no_leak(result)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("fatal", [False, True])
def test_nothing_listening_falls_back_or_exits_69(cli: Cli, seeded: Path, tmp_path: Path, fatal: bool) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = launch_through(cli, endpoint, tmp_path, *(["--no-fallback"] if fatal else []))
    if fatal:
        assert_fatal(result, "EndpointConnectionError")
    else:
        assert_fell_back(result, "EndpointConnectionError")


@pytest.mark.parametrize("fatal", [False, True])
def test_a_server_that_never_answers_is_cut_off_at_the_deadline(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy, fatal: bool
) -> None:
    proxy.add(Fault(stall=True))
    result = launch_through(cli, proxy.url, tmp_path, *(["--no-fallback"] if fatal else []))
    if fatal:
        assert_fatal(result, "Timeout")
    else:
        assert_fell_back(result, "")  # ReadTimeout or Timeout, whichever the deadline meets first


def test_throttling_on_every_call_is_retried_then_falls_back(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("ThrottlingException"))
    # 4 attempts back off at most 1 + 2 + 4 s: a deadline of 20 s never cuts them short, so the warning
    # names what AWS said, as the README's table promises.
    result = launch_through(cli, proxy.url, tmp_path, "--timeout", "20")
    child = result.child_env()
    assert child["DATABASE_URL"] == FILE_VALUES["DATABASE_URL"]
    assert "(ThrottlingException" in result.stderr
    assert proxy.calls["GetSecretValue"] > len(NAMES), "throttled calls are retried"
    assert proxy.calls["GetSecretValue"] <= len(NAMES) * MAX_ATTEMPTS
    assert_no_leak_on_stderr(result)


def test_throttling_on_the_first_two_calls_only_is_ridden_out(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("ThrottlingException", secret_id="calitho-suite/redis", times=2))
    result = launch_through(cli, proxy.url, tmp_path, "--timeout", "8", "--no-fallback")
    assert result.child_env()["REDIS_URL"] == SECRET_VALUES["REDIS_URL"]
    assert proxy.calls["GetSecretValue"] == len(NAMES) + 2


def test_a_server_error_is_retried_and_a_persistent_one_falls_back(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("InternalServiceError", status=500, secret_id="calitho-suite/database", times=1))
    assert launch_through(cli, proxy.url, tmp_path).child_env()["DATABASE_URL"] == SECRET_VALUES["DATABASE_URL"]
    proxy.add(Fault("InternalServiceError", status=500, secret_id="calitho-suite/database"))
    assert_fell_back(launch_through(cli, proxy.url, tmp_path), "InternalServiceError", ("database",))


def test_access_denied_for_one_of_three_secrets_falls_back_for_that_one_only(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("AccessDeniedException", secret_id="calitho-suite/nextauth"))
    result = launch_through(cli, proxy.url, tmp_path)
    assert_fell_back(result, "AccessDeniedException", ("nextauth",))
    assert "secretsmanager:GetSecretValue" in result.stderr
    child = result.child_env()
    assert child["DATABASE_URL"] == SECRET_VALUES["DATABASE_URL"]
    assert child["REDIS_URL"] == SECRET_VALUES["REDIS_URL"]
    assert_fatal(launch_through(cli, proxy.url, tmp_path, "--no-fallback"), "AccessDeniedException")


def test_a_kms_decryption_failure_falls_back_with_the_kms_hint(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("DecryptionFailure", secret_id="calitho-suite/redis"))
    result = launch_through(cli, proxy.url, tmp_path)
    assert_fell_back(result, "DecryptionFailure", ("redis",))
    assert "kms:Decrypt" in result.stderr


@pytest.mark.parametrize(("force", "code"), [(False, "InvalidRequestException"), (True, "ResourceNotFoundException")])
def test_a_deleted_or_scheduled_for_deletion_secret_falls_back(
    cli: Cli, seeded: Path, tmp_path: Path, aws: str, secretsmanager: Any, force: bool, code: str
) -> None:
    if force:
        secretsmanager.delete_secret(SecretId="calitho-suite/database", ForceDeleteWithoutRecovery=True)
    else:
        secretsmanager.delete_secret(SecretId="calitho-suite/database", RecoveryWindowInDays=7)
    result = launch_through(cli, aws, tmp_path)
    assert_fell_back(result, code, ("database",))


def test_no_credentials_at_all_falls_back_with_the_credentials_hint(
    cli: Cli, seeded: Path, tmp_path: Path, aws: str
) -> None:
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = cli("run", "--timeout", str(TIMEOUT), "--", *DUMP_ENV, env=env)
    assert_fell_back(result, "NoCredentials")
    assert "aws sts get-caller-identity" in result.stderr


def test_credentials_from_a_container_endpoint_are_used(
    cli: Cli, seeded: Path, tmp_path: Path, aws: str, container_credentials: tuple[str, list[str]]
) -> None:
    url, calls = container_credentials
    env = aws_env(
        aws,
        tmp_path,
        NODE_ENV="production",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN="task-token",
    )
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = cli("run", "--no-fallback", "--", *DUMP_ENV, env=env)
    assert result.child_env()["DATABASE_URL"] == SECRET_VALUES["DATABASE_URL"]
    assert calls == ["task-token"], "credentials are looked up once, not per secret"


def test_no_region_anywhere_falls_back_but_an_arn_mapping_still_works(
    cli: Cli, seeded: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/pinned", {"PINNED": "by-arn"})
    write(seeded / ".env.production", f"AWS_SECRET_PINNED={arn}\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    del env["AWS_REGION"]
    result = cli("run", "--timeout", str(TIMEOUT), "--", *DUMP_ENV, env=env)
    assert_fell_back(result, "NoRegion")
    assert result.child_env()["PINNED"] == "by-arn"


def test_fifty_launches_at_once_all_get_the_right_values_through_throttling(
    cli: Cli, seeded: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    # The first attempts of the crowd's first 40 calls are throttled. Retries pass: launches start over
    # seconds on 2 cores, so an early one's retries would otherwise meet the throttling alone, 4 times.
    proxy.add(Fault("ThrottlingException", times=40, first_attempts_only=True))
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")

    def one(_: int) -> Launch:
        return cli("run", "--no-fallback", "--timeout", "30", "--", *DUMP_ENV, env=env, timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    for result in results:
        child = result.child_env()
        assert {key: child[key] for key in SECRET_VALUES} == SECRET_VALUES
    assert proxy.calls["GetSecretValue"] == 50 * len(NAMES) + 40


def test_a_misconfigured_endpoint_url_is_a_clean_failure(cli: Cli, seeded: Path, tmp_path: Path) -> None:
    result = launch_through(cli, "not a url", tmp_path)
    assert result.returncode == 0
    assert "could not be fetched" in result.stderr
    assert_no_leak_on_stderr(result)


def test_dev_mode_with_aws_unreachable_makes_no_call(cli: Cli, seeded: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, {"AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{free_port()}"})
    result = cli("run", "--", *DUMP_ENV, env=env)
    assert result.child_env()["DATABASE_URL"] == FILE_VALUES["DATABASE_URL"]
    assert result.stderr == ""
