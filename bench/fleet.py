"""A fleet against an account's quota, for `make bench`: N launches released at once through a stand-in
with a token bucket, and what `run --watch` costs a fleet in DescribeSecret calls."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.aws_proxy import AwsProxy, RateLimit
from bench.extras import PRIMARY, environment

SECRETS = 3  # each instance reads three secrets (or three parameters)
SIZES = (20, 60, 150)
PRICE_PER_CALL = 0.05 / 10_000  # Secrets Manager API calls, dollars
HOURS_PER_MONTH = 730
DESCRIBE_QUOTA = 40_000  # DescribeSecret requests a second, per account and region
WATCH_INTERVALS = (1.0, 5.0)  # seconds, in the ratio of 60 s to 300 s

# The real CLI's entry point with its modules imported before a common start line: interpreters
# starting on a few cores would otherwise reach AWS one by one over seconds, never at once.
AT_THE_START_LINE = """
import sys, time
from pathlib import Path
import calitho_env.aws.fetch, calitho_env.cli, calitho_env.commands.run, calitho_env.core.resolution
Path(sys.argv[1]).touch()
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
calitho_env.cli.main(sys.argv[3:])
"""


@dataclass
class Started:
    """One launch of a fleet: its exit code, output, and when it ended, in seconds after the release."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


def start_at_once(folder: Path, launches: list[tuple[list[str], dict[str, str]]]) -> tuple[list[Started], float]:
    """Each `calitho-env ARGS` with its environment, all released at one instant; gives the results
    and that instant (time.time())."""
    lines = Path(tempfile.mkdtemp(prefix="start-line-", dir=folder))
    go = lines / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", AT_THE_START_LINE, str(lines / f"ready-{i}"), str(go), *args],
            env=env,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, (args, env) in enumerate(launches)
    ]
    give_up = time.monotonic() + 300
    while len(list(lines.glob("ready-*"))) < len(launches):
        if time.monotonic() > give_up or any(process.poll() is not None for process in processes):
            for process in processes:
                process.kill()
            raise RuntimeError("a launch never reached the start line")
        time.sleep(0.05)
    released, released_at = time.monotonic(), time.time()
    go.touch()
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        results.append(Started(process.returncode, stdout, stderr, time.monotonic() - released))
    shutil.rmtree(lines)
    return results, released_at


def verifying_child(expected: dict[str, str], report: Path) -> list[str]:
    """A child that checks each variable holds its value, then writes when it started (time.time())."""
    checks = " && ".join(f'test "${name}" = {json.dumps(value)}' for name, value in expected.items())
    return ["/bin/sh", "-c", f"{checks} && date +%s.%N > {report}"]


@dataclass
class Row:
    service: str
    quota: RateLimit
    launches: int
    started: int  # with the right values
    slowest: float  # seconds from the release to the last child started
    needed: int
    sent: int
    throttled: int
    failures: str  # why the others did not start, by error code
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # the machine's, as the row ended


def seed(endpoint: str) -> None:
    """The three secrets and three parameters every instance of a fleet reads."""
    factory: Any = boto3.client  # typed per literal service name; ours are variables
    keys = {
        "region_name": PRIMARY,
        "endpoint_url": endpoint,
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
    }
    secrets, ssm = factory("secretsmanager", **keys), factory("ssm", **keys)
    for i in range(SECRETS):
        secrets.create_secret(Name=f"fleet/s{i}", SecretString=json.dumps({f"FLEET_{i}": f"s-value-{i}"}))
        ssm.put_parameter(Name=f"/fleet/p{i}", Value=f"p-value-{i}", Type="SecureString")


def one_fleet(endpoint: str, folder: Path, launches: int, quota: RateLimit, service: str, batch: bool = False) -> Row:
    """`launches` instances released at once, each reading three values through one shared `quota`."""
    if service == "Parameter Store":
        mappings = {f"P{i}": f"arn:aws:ssm:{PRIMARY}:123456789012:parameter/fleet/p{i}" for i in range(SECRETS)}
        expected = {f"P{i}": f"p-value-{i}" for i in range(SECRETS)}
        action, per_launch = "GetParameters", 1
    else:
        mappings = {f"AWS_SECRET_S{i}": f"fleet/s{i}" for i in range(SECRETS)}
        expected = {f"FLEET_{i}": f"s-value-{i}" for i in range(SECRETS)}
        action, per_launch = ("BatchGetSecretValue", 1) if batch else ("GetSecretValue", SECRETS)
    proxy = AwsProxy(endpoint, memoize_reads=True)
    proxy.quota = RateLimit(quota.per_second, quota.burst)  # a full bucket for each row
    reports = Path(tempfile.mkdtemp(prefix="fleet-", dir=folder))
    flags = ["run", "--no-fallback", *(["--batch"] if batch else []), "--"]
    env = environment(folder, proxy, **mappings)
    try:
        results, released_at = start_at_once(
            folder, [([*flags, *verifying_child(expected, reports / str(i))], env) for i in range(launches)]
        )
    finally:
        proxy.close()
    started = [float(report.read_text()) - released_at for report in reports.iterdir()]
    shutil.rmtree(reports)
    why = Counter(_first_error(result.stderr) for result in results if result.returncode != 0)
    return Row(
        service if not batch else f"{service} --batch",
        quota,
        launches,
        len(started),
        max(started, default=float("nan")),
        launches * per_launch,
        proxy.calls[action],
        proxy.throttled[action],
        ", ".join(f"{count} {code}" for code, count in why.most_common()),
    )


def _first_error(stderr: str) -> str:
    """The error code a failed launch named first: `... could not be fetched (ThrottlingException)`."""
    for line in stderr.splitlines():
        if "could not be fetched (" in line:
            return line.split("could not be fetched (", 1)[1].split(")", 1)[0].split(":", 1)[0]
    return "exit without a fetch error" if stderr else "no output"


def fleets(endpoint: str, folder: Path, sizes: tuple[int, ...] = SIZES) -> list[Row]:
    """Every row of the fleet table; each row's `load` is the machine's 1-minute load average as it ended."""
    seed(endpoint)
    plans = [
        ("Secrets Manager", RateLimit(40, 40)),  # low enough to bite at these sizes
        ("Secrets Manager", RateLimit(100, 100)),  # GetSecretValue's 10,000/s with the fleet scaled down 100 times
        ("Parameter Store", RateLimit(40, 40)),  # GetParameters' default (standard throughput)
    ]
    return [one_fleet(endpoint, folder, size, quota, service) for service, quota in plans for size in sizes]


def watch_calls_per_hour(launcher: list[str], endpoint: str, folder: Path, interval: float, seconds: float) -> float:
    """DescribeSecret calls an hour of one `run --watch` over SECRETS secrets, counted at the stand-in."""
    proxy = AwsProxy(endpoint)
    env = environment(folder, proxy, **{f"AWS_SECRET_S{i}": f"fleet/s{i}" for i in range(SECRETS)})
    command = [*launcher, "run", "--watch", "--watch-interval", f"{interval:g}", "--", "sleep", "3600"]
    supervisor = subprocess.Popen(command, cwd=folder, env=env, stderr=subprocess.DEVNULL)
    try:
        while proxy.calls["GetSecretValue"] < SECRETS:  # the first resolution is not the watcher's
            time.sleep(0.05)
        proxy.reset_counts()
        started = time.monotonic()
        time.sleep(seconds)
        describes, elapsed = proxy.calls["DescribeSecret"], time.monotonic() - started
    finally:
        supervisor.terminate()
        supervisor.wait(10)
        proxy.close()
    return describes * 3600 / elapsed


def watch_costs(launcher: list[str], endpoint: str, folder: Path, seconds: float) -> dict[float, float]:
    """Calls an instance-hour at a 1 s and a 5 s interval (as 60 s to 300 s), both watched at once."""
    with ThreadPoolExecutor(max_workers=len(WATCH_INTERVALS)) as pool:
        hours = [
            pool.submit(watch_calls_per_hour, launcher, endpoint, folder, interval, seconds)
            for interval in WATCH_INTERVALS
        ]
        return {interval: hour.result() for interval, hour in zip(WATCH_INTERVALS, hours, strict=True)}


def fleet_report(rows: list[Row], measured: dict[float, float], seconds: float) -> list[str]:
    lines = [
        "## A fleet started at once against the account's quota",
        "",
        f"Each instance reads {SECRETS} secrets (Secrets Manager: {SECRETS} GetSecretValue; Parameter Store: one "
        "GetParameters), `run --no-fallback`, the default `--timeout` of 10 s. All launches wait at one start line "
        "with their modules imported, then are released at the same instant through a stand-in whose token bucket "
        "(requests a second, burst) is shared by the whole fleet, answering ThrottlingException (HTTP 400) past it. "
        "Each child checks its values, then notes when it started. The 100/s rows are GetSecretValue's real "
        "10,000/s with the fleet scaled down 100 times (each launch standing for 100 instances).",
        "",
        "| service | quota | launches | started with the right values | slowest start s | requests needed "
        "| requests sent | sent per needed | throttled answers | why the others did not start | load average |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        quota = f"{row.quota.per_second:g}/s, burst {row.quota.burst:g}"
        lines.append(
            f"| {row.service} | {quota} | {row.launches} | {row.started} | {row.slowest:.1f} | {row.needed} "
            f"| {row.sent} | {row.sent / row.needed:.2f} | {row.throttled} | {row.failures or '-'} | {row.load:.0f} |"
        )
    lines += [
        "",
        "A fleet needs at least (requests - burst) / rate seconds of the quota; past the 10 s deadline some "
        "instances cannot start, whatever the retries do. All launches share this machine's "
        f"{os.cpu_count()} cores, where a fleet has a machine each: a `Timeout` with few throttled answers is the "
        "launches waiting for a core (see the load average), not for the quota.",
        "",
    ]
    lines += cost_report(measured, seconds)
    return lines


def cost_report(measured: dict[float, float], seconds: float) -> list[str]:
    """DescribeSecret calls and dollars of a fleet under `run --watch`, from the calls measured per instance-hour."""
    # Only intervals watched three times over: a shorter watch may have seen no poll at all.
    per_poll = {interval: calls * interval / 3600 for interval, calls in measured.items() if seconds >= 3 * interval}
    calls_per_poll = sum(per_poll.values()) / max(len(per_poll), 1)  # a poll takes time too: a little under SECRETS
    if not calls_per_poll:
        return [f"(`run --watch` was watched {seconds:g} s, under three of its intervals: no cost table.)", ""]
    lines = [
        f"## What a fleet costs under `run --watch` ({SECRETS} secrets an instance)",
        "",
        "Measured: one `run --watch` against the stand-in for "
        f"{seconds:.0f} s at each interval, DescribeSecret counted: "
        + "; ".join(
            f"`--watch-interval {interval:g}`: {calls:.0f} calls an instance-hour "
            f"({per_poll[interval]:.2f} an interval)"
            for interval, calls in measured.items()
            if interval in per_poll
        )
        + ". Scaled to 60 s and 300 s by the calls an interval, "
        f"{calls_per_poll:.2f}; priced at $0.05 per 10,000 API calls, {HOURS_PER_MONTH} hours a month.",
        "",
        "| instances | interval | DescribeSecret calls an hour | dollars a month |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for interval in (60, 300):
        for instances in (10, 100, 1000):
            per_hour = instances * calls_per_poll * 3600 / interval
            dollars = per_hour * HOURS_PER_MONTH * PRICE_PER_CALL
            lines.append(f"| {instances:,} | {interval} s | {per_hour:,.0f} | {dollars:,.2f} |")
    lines += [
        "",
        f"Largest fleet within DescribeSecret's {DESCRIBE_QUOTA:,} requests a second (per account and region), "
        "polls spread evenly over the interval (the watcher's ±10 % jitter spreads them): "
        + "; ".join(
            f"{interval} s: {DESCRIBE_QUOTA * interval / calls_per_poll:,.0f} instances" for interval in (60, 300)
        )
        + f". A fleet whose polls fall in the same second (all started together, before the jitter drifts "
        f"them apart) is held to {DESCRIBE_QUOTA // SECRETS:,} instances ({SECRETS} calls each) at any interval.",
        "",
    ]
    return lines
