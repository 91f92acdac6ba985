"""`make bench`: calitho-env against its baselines, side by side, interleaved, as medians and ratios.

python -m bench [--repetitions N] [--sizes 1,3,20,50] [--output bench/RESULTS.md] [--no-instructions]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import sys
import tempfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from bench import extras, fleet, instructions
from bench.aws_proxy import AwsProxy
from bench.measure import Samples, launch, peak_kib

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "bench" / "baselines"
PYTHON = sys.executable
LAUNCHER = [str(Path(PYTHON).parent / "calitho-env")]
DOTENV = str(Path(PYTHON).parent / "dotenv")
REGION = "us-west-1"
LATENCY = 0.030  # seconds added to each request, and to each new connection, by the proxy
CASCADE = {
    ".env": "DATABASE_URL=postgres://localhost/dev\nNEXTAUTH_SECRET=dev\nREDIS_URL=redis://localhost\n"
    + "".join(f"SETTING_{i}=value-{i}\n" for i in range(20)),
    ".env.development": "LOG_LEVEL=debug\nFEATURE_X=on\n",
    ".env.local": "DATABASE_URL=postgres://localhost/mine\n",
    ".env.development.local": "DEBUG=1\n",
}


Launch = tuple[list[str], dict[str, str], Path]


def interleaved(variants: dict[str, Launch], repetitions: int) -> dict[str, Samples]:
    """Each repetition runs every variant once, in a fresh random order: noise hits all alike."""
    samples = {name: Samples() for name in variants}
    for _ in range(repetitions):
        order = list(variants)
        random.shuffle(order)
        for name in order:
            samples[name].seconds.append(launch(*variants[name]))
    for name, (command, env, cwd) in variants.items():
        samples[name].peak_kib = peak_kib(command, env, cwd)
    return samples


def write_cascade(folder: Path) -> dict[str, str]:
    """The four env files; returns the launch environment."""
    for name, text in CASCADE.items():
        (folder / name).write_text(text)
    return {"PATH": os.environ["PATH"], "HOME": str(folder)}


def development_instructions(folder: Path) -> dict[str, int]:
    return instructions.counts(
        PYTHON,
        {
            "python -c pass": ["-c", "import os; os._exit(0)"],
            "dotenv run -- true": instructions.until_exec(DOTENV, "run", "--", "true"),
            "calitho-env run -- true": instructions.until_exec(LAUNCHER[0], "run", "--", "true"),
        },
        write_cascade(folder),
        folder,
    )


def development(folder: Path, repetitions: int) -> dict[str, Samples]:
    env = write_cascade(folder)
    return interleaved(
        {
            "python -c pass": ([PYTHON, "-c", "pass"], env, folder),
            "dotenv run -- true": ([DOTENV, "run", "--", "true"], env, folder),
            "calitho-env run -- true": ([*LAUNCHER, "run", "--", "true"], env, folder),
        },
        repetitions,
    )


def production(
    folder: Path, endpoint: str, proxy: AwsProxy, sizes: list[int], repetitions: int, count_instructions: bool
) -> tuple[dict[str, Samples], dict[str, dict[str, float]], dict[str, int]]:
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    for index in range(max(sizes)):
        client.create_secret(Name=f"bench/s{index}", SecretString=json.dumps({f"KEY_{index}": f"value-{index}"}))
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(folder / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "none"),
        "NODE_ENV": "production",
    }
    variants: dict[str, Launch] = {
        "floor (1 secret)": ([PYTHON, str(BASELINES / "floor.py"), "bench/s0", "--", "true"], base, folder),
    }
    for size in sizes:
        env = {**base, **{f"AWS_SECRET_S{i}": f"bench/s{i}" for i in range(size)}}
        variants[f"calitho-env, N={size}"] = ([*LAUNCHER, "run", "--no-fallback", "--", "true"], env, folder)
        variants[f"naive boto3, N={size}"] = ([PYTHON, str(BASELINES / "naive_boto3.py"), "--", "true"], env, folder)
        if size > 1:
            variants[f"calitho-env --batch, N={size}"] = (
                [*LAUNCHER, "run", "--batch", "--no-fallback", "--", "true"],
                env,
                folder,
            )
    calls: dict[str, dict[str, float]] = {}
    for name in [name for name in variants if name.startswith("calitho-env")]:  # counted at the proxy, alone
        proxy.reset_counts()
        launch(*variants[name])
        calls[name] = {**proxy.calls, "connections": proxy.connections}
    samples = interleaved(variants, repetitions)
    counts = {}
    if count_instructions:  # after the timed runs, so every bytecode cache is written
        for name in ("floor (1 secret)", "calitho-env, N=1", "calitho-env, N=20"):
            if name in variants:
                command, env, cwd = variants[name]
                script = command[1:] if command[0] == PYTHON else command
                counts[name] = instructions.count(PYTHON, instructions.until_exec(*script), env, cwd)
    return samples, calls, counts


def report(
    dev: dict[str, Samples],
    counts: dict[str, int],
    prod: dict[str, Samples],
    calls: dict[str, dict[str, float]],
    prod_counts: dict[str, int],
    sizes: list[int],
    repetitions: int,
) -> str:
    floor = prod["floor (1 secret)"].median_ms
    dotenv = dev["dotenv run -- true"].median_ms
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench --repetitions {repetitions}`). Machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}. Every row ran in the same "
        "run, interleaved in random order; medians, and ratios against a baseline of the same run. Absolute times "
        "vary between machines and runs; the ratios are what to compare.",
        "",
        "## Development: the four-file cascade",
        "",
        "| command | median ms | ratio to `dotenv run` | peak RSS MiB |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, samples in dev.items():
        lines.append(
            f"| `{name}` | {samples.median_ms:.1f} | {samples.median_ms / dotenv:.2f} | {samples.peak_mib:.1f} |"
        )
    lines += [
        "",
        "`dotenv run` reads `.env` only; calitho-env reads all four files.",
        "",
    ]
    if counts:
        lines += [
            "Instructions (valgrind callgrind, PYTHONHASHSEED=0, counted up to the exec; the same on every run):",
            "",
            "| command | instructions (M) | ratio to `dotenv run` |",
            "| --- | ---: | ---: |",
        ]
        for name, number in counts.items():
            ratio = number / counts["dotenv run -- true"]
            lines.append(f"| `{name}` | {number / 1e6:.1f} | {ratio:.3f} |")
        lines.append("")
    lines += [
        f"## Production: N secrets through a proxy adding {LATENCY * 1000:.0f} ms per request and per new connection",
        "",
        "| launcher | median ms | ratio to floor (1 secret) | peak RSS MiB |",
        "| --- | ---: | ---: | ---: |",
        f"| floor: one botocore client, one GetSecretValue, exec | {floor:.1f} | 1.00 | "
        f"{prod['floor (1 secret)'].peak_mib:.1f} |",
    ]
    for size in sizes:
        for name in (f"calitho-env, N={size}", f"calitho-env --batch, N={size}", f"naive boto3, N={size}"):
            if name not in prod:
                continue
            samples = prod[name]
            lines.append(
                f"| {name} | {samples.median_ms:.1f} | {samples.median_ms / floor:.2f} | {samples.peak_mib:.1f} |"
            )
    if prod_counts:
        floor_count = prod_counts["floor (1 secret)"]
        lines += [
            "",
            "Instructions (callgrind, as above; threads run one at a time under valgrind):",
            "",
            "| launcher | instructions (M) | ratio to floor |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| {name} | {n / 1e6:.1f} | {n / floor_count:.3f} |" for name, n in prod_counts.items()]
    lines += [
        "",
        "## AWS API calls per calitho-env launch (counted at the proxy)",
        "",
        "| launch | GetSecretValue | BatchGetSecretValue | other calls | new connections |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, counted_calls in calls.items():
        counted = dict(counted_calls)
        connections = counted.pop("connections", 0)
        gets = counted.pop("GetSecretValue", 0)
        batches = counted.pop("BatchGetSecretValue", 0)
        lines.append(f"| {name} | {gets:.0f} | {batches:.0f} | {sum(counted.values()):.0f} | {connections:.0f} |")
    lines += ["", "## Targets", ""]
    ours_dev = dev["calitho-env run -- true"].median_ms / dotenv
    lines.append(
        f"- development, ratio to `dotenv run` at most 1.0: {ours_dev:.2f} ({'met' if ours_dev <= 1.0 else 'not met'})"
    )
    if counts:
        ours_counted = counts["calitho-env run -- true"] / counts["dotenv run -- true"]
        lines.append(f"  (in instructions: {ours_counted:.3f})")
    for size, target in ((20, 1.2), (50, 1.5)):
        if f"calitho-env, N={size}" in prod:
            ratio = prod[f"calitho-env, N={size}"].median_ms / floor
            lines.append(
                f"- N={size} within {target}x of the floor: {ratio:.2f} ({'met' if ratio <= target else 'not met'})"
            )
    exact = all(
        calls[f"calitho-env, N={s}"]
        == {"GetSecretValue": s, "connections": calls[f"calitho-env, N={s}"]["connections"]}
        for s in sizes
    )
    lines.append(f"- exactly one GetSecretValue per secret and no other call: {'met' if exact else 'not met'}")
    batched = all(
        calls[f"calitho-env --batch, N={s}"].get("BatchGetSecretValue") == -(-s // 20)
        and "GetSecretValue" not in calls[f"calitho-env --batch, N={s}"]
        for s in sizes
        if s > 1
    )
    lines.append(
        f"- with --batch, one BatchGetSecretValue per 20 secrets and no other call: {'met' if batched else 'not met'}"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--repetitions", type=int, default=25)
    parser.add_argument("--sizes", default="1,3,20,50")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--no-instructions", action="store_true", help="skip the callgrind counts (they need valgrind, ~1 min)"
    )
    parser.add_argument("--watch-seconds", type=float, default=60.0, help="how long run --watch is watched idle")
    parser.add_argument("--fleet-sizes", default="20,60,150", help="launches released at once against a quota")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    proxy = AwsProxy(endpoint, request_delay=LATENCY, connect_delay=LATENCY, memoize_reads=True)
    folder = Path(tempfile.mkdtemp(prefix="calitho-bench-"))
    try:
        dev = development(folder, options.repetitions)
        count_instructions = not options.no_instructions and instructions.available()
        counts = development_instructions(folder) if count_instructions else {}
        prod, calls, prod_counts = production(folder, endpoint, proxy, sizes, options.repetitions, count_instructions)
        more = extras.failover(LAUNCHER, endpoint, folder, LATENCY, options.repetitions)
        more += extras.parameters(LAUNCHER, endpoint, folder, LATENCY, options.repetitions)
        more += extras.watch(LAUNCHER, endpoint, folder, options.watch_seconds)
        rows = fleet.fleets(endpoint, folder, tuple(int(size) for size in options.fleet_sizes.split(",")))
        costs = fleet.watch_costs(LAUNCHER, endpoint, folder, options.watch_seconds)
        more += fleet.fleet_report(rows, costs, options.watch_seconds)
    finally:
        proxy.close()
        server.stop()
        shutil.rmtree(folder)
    text = report(dev, counts, prod, calls, prod_counts, sizes, options.repetitions) + "\n" + "\n".join(more)
    options.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
