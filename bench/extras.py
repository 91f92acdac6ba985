"""Replica failover, Parameter Store round trips and `run --watch`'s resident cost, for `make bench`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from bench.aws_proxy import AwsProxy, Fault
from bench.measure import Samples, launch

PRIMARY, REPLICA = "us-west-1", "us-east-2"


def environment(folder: Path, proxy: AwsProxy, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "AWS_REGION": PRIMARY,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url,
        "AWS_ENDPOINT_URL_SSM": proxy.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(folder / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "none"),
        "NODE_ENV": "production",
        **extra,
    }


def _client(service: str, endpoint: str, region: str) -> Any:
    factory: Any = boto3.client  # typed per literal service name; ours is a variable
    return factory(
        service, region_name=region, endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench"
    )


def failover(launcher: list[str], endpoint: str, folder: Path, latency: float, repetitions: int) -> list[str]:
    """3 secrets with --regions PRIMARY,REPLICA: healthy, primary dropping connections, primary stalled."""
    for region in (PRIMARY, REPLICA):
        client = _client("secretsmanager", endpoint, region)
        for index in range(3):
            client.create_secret(Name=f"failover/s{index}", SecretString=json.dumps({f"F{index}": region}))
    proxies = {
        "healthy": AwsProxy(endpoint, request_delay=latency, connect_delay=latency),
        "primary drops connections": AwsProxy(endpoint, request_delay=latency, connect_delay=latency),
        "primary stalls": AwsProxy(endpoint, request_delay=latency, connect_delay=latency),
    }
    proxies["primary drops connections"].add(Fault(drop=True, region=PRIMARY))
    proxies["primary stalls"].add(Fault(stall=True, region=PRIMARY))
    mappings = {f"AWS_SECRET_F{i}": f"failover/s{i}" for i in range(3)}
    command = [*launcher, "run", "--regions", f"{PRIMARY},{REPLICA}", "--timeout", "6", "--fallback", "none", "--"]
    samples = {name: Samples() for name in proxies}
    try:
        for _ in range(repetitions):
            for name in random.sample(list(proxies), len(proxies)):  # a new random order each round, as in make bench
                proxy = proxies[name]
                samples[name].seconds.append(launch([*command, "true"], environment(folder, proxy, **mappings), folder))
    finally:
        for proxy in proxies.values():
            proxy.close()
    healthy = samples["healthy"].median_ms
    # A stalled primary here accepts the connection and never answers: it costs the first try's read
    # timeout (a third of --timeout, at most 3 s) and that connection's set-up (the proxy's latency).
    first_try_read = min(6 / 3, 3.0) * 1000 + latency * 1000
    dropped, stalled = samples["primary drops connections"].median_ms, samples["primary stalls"].median_ms
    return [
        "## Replica failover: 3 secrets, `--regions us-west-1,us-east-2 --timeout 6`",
        "",
        "| primary region | median ms | ratio to healthy |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {s.median_ms:.1f} | {s.median_ms / healthy:.2f} |" for name, s in samples.items()],
        "",
        f"- primary dropping connections within 1.5x of a healthy launch: {dropped / healthy:.2f} "
        f"({'met' if dropped <= 1.5 * healthy else 'not met'})",
        f"- primary stalled within the first try's read timeout and connection ({first_try_read:.0f} ms) plus one "
        "healthy launch: "
        f"{stalled:.0f} ms against {first_try_read + healthy:.0f} ms "
        f"({'met' if stalled <= first_try_read + healthy else 'not met'})",
        "",
    ]


def parameters(launcher: list[str], endpoint: str, folder: Path, latency: float, repetitions: int) -> list[str]:
    """3 Parameter Store references against 3 Secrets Manager references: calls and time."""
    ssm = _client("ssm", endpoint, PRIMARY)
    secrets = _client("secretsmanager", endpoint, PRIMARY)
    arns = {}
    for index in range(3):
        ssm.put_parameter(Name=f"/bench/p{index}", Value=f"v{index}", Type="SecureString")
        arns[index] = secrets.create_secret(Name=f"bench/r{index}", SecretString=f"v{index}")["ARN"]
    proxy = AwsProxy(endpoint, request_delay=latency, connect_delay=latency)
    variants = {
        "3 Parameter Store references": {
            f"P{i}": f"arn:aws:ssm:{PRIMARY}:123456789012:parameter/bench/p{i}" for i in range(3)
        },
        "3 Secrets Manager references": {f"R{i}": arns[i] for i in range(3)},
    }
    samples = {name: Samples() for name in variants}
    calls = {}
    try:
        for name, references in variants.items():
            proxy.reset_counts()
            launch(
                [*launcher, "run", "--fallback", "none", "--", "true"], environment(folder, proxy, **references), folder
            )
            calls[name] = dict(proxy.calls)
        for _ in range(repetitions):
            for name in random.sample(list(variants), len(variants)):  # a new random order each round
                env = environment(folder, proxy, **variants[name])
                samples[name].seconds.append(launch([*launcher, "run", "--", "true"], env, folder))
    finally:
        proxy.close()
    sm = samples["3 Secrets Manager references"].median_ms
    return [
        "## Parameter Store against Secrets Manager references",
        "",
        "| launch | API calls | median ms | ratio to Secrets Manager |",
        "| --- | --- | ---: | ---: |",
        *[
            f"| {name} | {', '.join(f'{k} {v}' for k, v in calls[name].items())} | {s.median_ms:.1f} | "
            f"{s.median_ms / sm:.2f} |"
            for name, s in samples.items()
        ],
        "",
        "Secrets Manager's calls run at once, one round trip deep; the parameters' one GetParameters is one "
        "round trip too.",
        "",
    ]


def watch(launcher: list[str], endpoint: str, folder: Path, seconds: float = 60.0) -> list[str]:
    """run --watch at a 1 s interval over 3 secrets: resident memory and CPU, calls, rotation to new child."""
    client = _client("secretsmanager", endpoint, PRIMARY)
    for index in range(3):
        client.create_secret(Name=f"watch/s{index}", SecretString=json.dumps({f"W{index}": "one"}))
    proxy = AwsProxy(endpoint)
    marker = folder / "started"
    child = [sys.executable, "-c", f"import os, time; open({str(marker)!r}, 'a').write(os.environ['W0'] + chr(10))"
             "; time.sleep(3600)"]  # fmt: skip
    env = environment(folder, proxy, **{f"AWS_SECRET_W{i}": f"watch/s{i}" for i in range(3)})
    command = [*launcher, "run", "--watch", "--watch-interval", "1", "--restart-spread", "0", "--restart-grace", "1"]
    supervisor = subprocess.Popen([*command, "--", *child], cwd=folder, env=env, stderr=subprocess.DEVNULL)
    try:
        while not marker.exists():
            time.sleep(0.05)
        proxy.reset_counts()
        cpu_before, started = _cpu_seconds(supervisor.pid), time.monotonic()
        time.sleep(seconds)
        cpu, elapsed = _cpu_seconds(supervisor.pid) - cpu_before, time.monotonic() - started
        rss = _rss_mib(supervisor.pid)
        describes = proxy.calls["DescribeSecret"]
        others = sum(v for k, v in proxy.calls.items() if k != "DescribeSecret")
        rotated = time.monotonic()
        client.put_secret_value(SecretId="watch/s0", SecretString=json.dumps({"W0": "two"}))
        while "two" not in marker.read_text():
            time.sleep(0.01)
        to_new_child = time.monotonic() - rotated
    finally:
        supervisor.terminate()
        supervisor.wait(10)
        proxy.close()
    per_hour = describes * 3600 / elapsed
    return [
        "## `run --watch`: 3 secrets, `--watch-interval 1`",
        "",
        f"- resident: {rss:.1f} MiB RSS; CPU {cpu:.2f} s over {elapsed:.0f} s ({100 * cpu / elapsed:.2f} %)",
        f"- API calls: {describes} DescribeSecret and {others} other in {elapsed:.0f} s, so {per_hour:.0f} an hour "
        "(3 secrets x 3600 / 1 s = 10800 if each interval were exactly 1 s; each also holds the poll's own time)",
        f"- from put-secret-value to the new child started: {to_new_child:.2f} s (interval 1 s, spread 0, the old "
        "child stopping at once)",
        "",
    ]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
