"""Deadlines under a server that accepts and never answers: CALITHO_ENV_TIMEOUT, and check's STS and lookups.

A refused connection ends at once and proves no deadline; a stalled one waits for whatever cuts it off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, assert_no_leak_on_stderr, aws_env, write

pytestmark = pytest.mark.serial  # each measures how long a launch takes


@pytest.fixture
def mapped(project: Path, create_secret: Create) -> None:
    create_secret("calitho-suite/app", {"TOKEN": SENTINEL})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")


def test_calitho_env_timeout_is_the_deadline_of_a_stalled_launch(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, mapped: None
) -> None:
    proxy.add(Fault(action="GetSecretValue", stall=True))
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", CALITHO_ENV_TIMEOUT="2")
    result = cli("run", "--", *DUMP_ENV, env=env)
    assert 1.5 < result.seconds < 2 + 2.5  # the default would be 10 s
    assert "TOKEN" not in result.child_env()
    assert "calitho-suite/app could not be fetched" in result.stderr
    assert_no_leak(result)


def test_the_timeout_flag_wins_over_calitho_env_timeout(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, mapped: None
) -> None:
    proxy.add(Fault(action="GetSecretValue", stall=True))
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", CALITHO_ENV_TIMEOUT="30")
    result = cli("run", "--timeout", "2", "--", *DUMP_ENV, env=env)
    assert result.seconds < 2 + 2.5
    assert_no_leak_on_stderr(result)


def test_check_gives_a_stalled_sts_its_short_deadline_not_the_whole_timeout(
    cli: Cli, tmp_path: Path, aws: str, proxy: AwsProxy, mapped: None
) -> None:
    proxy.add(Fault(action="GetCallerIdentity", stall=True))
    env = aws_env(aws, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_STS=proxy.url)
    result = cli("check", "--timeout", "30", env=env)
    assert proxy.calls["GetCallerIdentity"] >= 1  # STS was asked, and stalled
    assert result.seconds < 3 + 3  # check's own STS deadline (3 s), far under --timeout 30
    assert result.returncode == 0, result.stdout  # who we are is information, not a condition
    assert "ok   calitho-suite/app" in result.stdout
    assert "identity unknown" in result.stdout
    assert_no_leak(result)


def test_check_under_a_stalled_describe_secret_ends_at_its_timeout_with_a_problem(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, mapped: None
) -> None:
    proxy.add(Fault(action="DescribeSecret", stall=True))
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    result = cli("check", "--timeout", "3", env=env)
    assert proxy.calls["DescribeSecret"] >= 1
    assert result.seconds < 3 + 3
    assert result.returncode == 1
    assert "FAIL calitho-suite/app" in result.stdout
    assert_no_leak(result)
