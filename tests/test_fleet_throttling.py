"""A fleet starting at once against an account's request quota: throttled calls wait their turn
within the deadline, and every instance starts with its values, without a retry storm."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, RateLimit
from tests.harness import DUMP_ENV, SENTINEL, Create, Launch, assert_no_leak_on_stderr, aws_env

LAUNCHES = 60
RATE, BURST = 20.0, 20.0  # requests a second, shared by the whole fleet
SECRETS = 3

# The real CLI's entry point, its modules imported before a common start line: 60 interpreters
# starting on 2 cores would otherwise reach AWS one by one over many seconds, never at once.
AT_THE_START_LINE = """
import sys, time
from pathlib import Path
import calitho_env.aws.fetch, calitho_env.cli, calitho_env.commands.run, calitho_env.core.resolution
Path(sys.argv[1]).touch()
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
calitho_env.cli.main(sys.argv[3:])
"""


def values(index: int) -> dict[str, str]:
    return {f"FLEET_{index}": f"value-{index}-{SENTINEL}"}


def start_at_once(project: Path, envs: list[dict[str, str]], *args: str) -> tuple[list[Launch], float]:
    """Launch `calitho-env ARGS` once per environment, all released at the same instant; each result's
    seconds are counted from that instant."""
    go = project / "go"
    launches = [
        subprocess.Popen(
            [sys.executable, "-c", AT_THE_START_LINE, str(project / f"ready-{i}"), str(go), *args],
            env=env,
            cwd=project,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, env in enumerate(envs)
    ]
    deadline = time.monotonic() + 120
    while sum((project / f"ready-{i}").exists() for i in range(len(envs))) < len(envs):
        assert time.monotonic() < deadline, "the launches never reached the start line"
        time.sleep(0.05)
    released = time.monotonic()
    go.touch()
    results = []
    for process in launches:
        stdout, stderr = process.communicate(timeout=60)
        results.append(Launch(process.returncode, stdout, stderr, time.monotonic() - released))
    return results, released


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
    results, _ = start_at_once(project, envs, "run", "--no-fallback", "--", *DUMP_ENV)  # the default --timeout, 10 s
    for count, result in zip(wanted, results, strict=True):
        child = result.child_env()  # --no-fallback: exit 0 only with every value fetched within the deadline
        assert {f"FLEET_{i}": child[f"FLEET_{i}"] for i in range(count)} == {
            k: v for i in range(count) for k, v in values(i).items()
        }
        assert_no_leak_on_stderr(result, [SENTINEL])
    assert proxy.throttled["GetSecretValue"] >= needed - BURST, "the quota was reached"
    sent = proxy.calls["GetSecretValue"]
    assert sent <= 3 * needed, f"{sent} requests sent for {needed} needed"
