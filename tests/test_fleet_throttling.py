"""A fleet starting at once against an account's request quota: throttled calls wait their turn
within the deadline, and every instance starts with its values, without a retry storm."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, Fault, RateLimit
from bench.fleet import start_at_once
from calitho_env.aws.session import MAX_ATTEMPTS
from tests.harness import DUMP_ENV, SENTINEL, Create, Launch, assert_no_leak_on_stderr, aws_env, write

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
    command = ["run", "--no-fallback", "--", *DUMP_ENV]  # the default --timeout, 10 s
    started, _ = start_at_once(project, [(command, env) for env in envs])
    results = [Launch(s.returncode, s.stdout, s.stderr, s.seconds) for s in started]
    for count, result in zip(wanted, results, strict=True):
        child = result.child_env()  # --no-fallback: exit 0 only with every value fetched within the deadline
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
