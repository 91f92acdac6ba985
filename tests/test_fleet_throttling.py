"""A fleet starting at once against an account's request quota: throttled calls wait their turn
within the deadline, and every instance starts with its values, without a retry storm."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, RateLimit
from bench.fleet import start_at_once
from tests.harness import DUMP_ENV, SENTINEL, Create, Launch, assert_no_leak_on_stderr, aws_env

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
