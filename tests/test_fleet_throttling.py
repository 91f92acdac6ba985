"""A fleet starting at once against an account's request quota: throttled calls wait their turn
within the deadline, and every instance starts with its values, without a retry storm."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.aws_proxy import AwsProxy, Fault, RateLimit
from bench.fleet import start_at_once
from calitho_env.aws.session import ANSWER_RESERVE, BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS, ThrottleRetries
from tests.harness import REGION, SENTINEL, Cli, Create, Launch, assert_no_leak_on_stderr, aws_env, write

LAUNCHES = 60
RATE, BURST = 20.0, 20.0  # requests a second, shared by the whole fleet
SECRETS = 3


def values(index: int) -> dict[str, str]:
    return {f"FLEET_{index}": f"value-{index}-{SENTINEL}"}


@pytest.mark.serial
def test_sixty_launches_over_the_quota_all_start_with_their_values_within_the_default_deadline(
    project: Path, create_secret: Create, tmp_path: Path, proxy: AwsProxy
) -> None:
    for index in range(SECRETS):
        create_secret(f"fleet/s{index}", values(index))
    wanted = [SECRETS - i % SECRETS for i in range(LAUNCHES)]  # 3, 2 or 1 secrets each
    needed = sum(wanted)
    assert needed >= 4 * RATE, "the fleet asks at least four seconds of the quota at once"
    envs = [
        aws_env(proxy.url, tmp_path, NODE_ENV="production", **{f"AWS_SECRET_S{i}": f"fleet/s{i}" for i in range(n)})
        for n in wanted
    ]
    proxy.quota = RateLimit(RATE, BURST)
    # `env -0` for a child: a Python child each would take cores from the launches still fetching.
    command = ["run", "--no-fallback", "--", "env", "-0"]  # the default --timeout, 10 s
    started, _ = start_at_once(project, [(command, env) for env in envs])
    results = [Launch(s.returncode, s.stdout, s.stderr, s.seconds) for s in started]
    for count, result in zip(wanted, results, strict=True):
        # --no-fallback: exit 0 only with every value fetched within the deadline
        assert result.returncode == 0, result.stderr
        child = dict(line.split("=", 1) for line in result.stdout.split("\0") if line)
        assert {f"FLEET_{i}": child[f"FLEET_{i}"] for i in range(count)} == {
            k: v for i in range(count) for k, v in values(i).items()
        }
        assert_no_leak_on_stderr(result, [SENTINEL])
    assert proxy.throttled["GetSecretValue"] >= LAUNCHES, "the quota was reached, many times"
    sent = proxy.calls["GetSecretValue"]
    assert sent <= 3 * needed, f"{sent} requests sent for {needed} needed"


def test_a_stop_signal_while_waiting_out_throttling_ends_the_launch_at_once(
    project: Path, create_secret: Create, tmp_path: Path, proxy: AwsProxy
) -> None:
    create_secret("fleet/s0", values(0))
    write(project / ".env", f"AWS_SECRET_S0=fleet/s0\nFLEET_0={SENTINEL}\n")
    proxy.add(Fault("ThrottlingException"))
    marker = tmp_path / "started"
    launched = subprocess.Popen(
        [sys.executable, "-m", "calitho_env", "run", "--timeout", "60", "--", "touch", str(marker)],
        cwd=project, env=aws_env(proxy.url, tmp_path, NODE_ENV="production"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        waited_until = time.monotonic() + 40
        while proxy.calls["GetSecretValue"] <= MAX_ATTEMPTS:  # past botocore's own attempts: our backoff
            assert launched.poll() is None, "the launch gave up on throttling before its deadline"
            assert time.monotonic() < waited_until, f"timed out waiting for the retries: {proxy.calls}"
            time.sleep(0.02)
        sent = time.monotonic()
        launched.send_signal(signal.SIGTERM)
        _, err = launched.communicate(timeout=5)
        assert time.monotonic() - sent < 2
    finally:
        launched.kill()
    assert launched.returncode == 128 + signal.SIGTERM
    assert not marker.exists()
    assert SENTINEL not in err
    assert "Traceback" not in err


class FakeOperation:
    name = "GetSecretValue"


THROTTLED = (type("Http", (), {"status_code": 400})(), {"Error": {"Code": "ThrottlingException", "Message": "Rate"}})


def backoff(now: list[float], draw: float = 1.0, timeout: float = 10.0) -> tuple[ThrottleRetries, dict[str, object]]:
    """A ThrottleRetries on a clock the test moves, drawing `draw` of each window; and one call's context."""
    retries = ThrottleRetries(timeout, draw=lambda: draw, clock=lambda: now[0])
    context: dict[str, object] = {}
    retries.begin(context)
    return retries, {"context": context}


def test_throttled_waits_grow_by_doubling_to_their_cap() -> None:
    retries, request = backoff([0.0])
    waits = [retries.delay(n, request, FakeOperation(), THROTTLED) for n in range(1, 7)]
    assert waits == [BACKOFF_BASE * 2**i for i in range(2)] + [BACKOFF_CAP] * 4


def test_no_throttled_wait_ends_past_the_deadline_and_after_it_the_throttling_is_the_answer() -> None:
    now = [0.0]
    retries, request = backoff(now)  # the call began at 0: its deadline is at 10
    now[0] = 9.5
    assert retries.delay(5, request, FakeOperation(), THROTTLED) == pytest.approx(10.0 - 9.5 - ANSWER_RESERVE)
    now[0] = 10.0 - ANSWER_RESERVE
    with pytest.raises(ClientError) as raised:
        retries.delay(6, request, FakeOperation(), THROTTLED)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_a_launch_deadline_before_the_calls_own_bounds_its_waits() -> None:
    retries = ThrottleRetries(10.0, deadline=2.0, draw=lambda: 1.0, clock=lambda: 1.5)
    context: dict[str, object] = {}
    retries.begin(context)
    assert retries.delay(3, {"context": context}, FakeOperation(), THROTTLED) == pytest.approx(0.5 - ANSWER_RESERVE)


def test_other_failures_and_a_429_are_told_apart() -> None:
    retries, request = backoff([0.0], draw=0.5)
    server_error = (type("Http", (), {"status_code": 500})(), {"Error": {"Code": "InternalServiceError"}})
    assert retries.delay(1, request, FakeOperation(), server_error) is None  # botocore's standard rules decide
    assert retries.delay(1, request, FakeOperation(), None) is None  # a connection error: the same
    too_many: tuple[object, dict[str, object]] = (type("Http", (), {"status_code": 429})(), {})
    assert retries.delay(1, request, FakeOperation(), too_many) == 0.5 * BACKOFF_BASE


@pytest.mark.parametrize("action", ["BatchGetSecretValue", "GetParameters"])
def test_a_throttled_batch_or_parameters_read_is_retried_past_botocores_attempts(
    cli: Cli, create_secret: Create, tmp_path: Path, aws: str, proxy: AwsProxy, action: str
) -> None:
    if action == "GetParameters":
        ssm = boto3.client("ssm", region_name=REGION, endpoint_url=aws,
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        ssm.put_parameter(Name="/fleet/p0", Value=f"p0-{SENTINEL}", Type="SecureString")
        mapping, flags = {"P0": f"arn:aws:ssm:{REGION}:123456789012:parameter/fleet/p0"}, []
    else:
        create_secret("fleet/s0", {"P0": f"p0-{SENTINEL}"})
        mapping, flags = {"AWS_SECRET_S0": "fleet/s0"}, ["--batch"]
    proxy.add(Fault("ThrottlingException", action=action, times=MAX_ATTEMPTS))  # one more than botocore's retries
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=proxy.url, **mapping)
    result = cli("run", "--no-fallback", *flags, "--timeout", "20", "--", "env", "-0", env=env)
    assert result.returncode == 0, result.stderr
    child = dict(line.split("=", 1) for line in result.stdout.split("\0") if line)
    assert child["P0"] == f"p0-{SENTINEL}"
    assert proxy.calls[action] == MAX_ATTEMPTS + 1
    assert_no_leak_on_stderr(result, [SENTINEL])
