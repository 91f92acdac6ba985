"""The gap a `run --watch` restart leaves, and what the supervisor costs while it waits.

A real `npm start` -> node HTTP server runs under `calitho-env run --watch` (development: the restart
follows an edit of .env.development). A client asks it every 2 ms; the gap is the time from the
last answer of the old server to the first answer of the new one. The server drains for
DRAIN seconds on SIGTERM (it keeps its port and answers meanwhile), as in the issue; with --drain 0
it exits at once. Then the supervisor's resident set size and CPU use while idle are read from /proc.

    python -m bench.restart_gap [--restarts 5] [--drain 2] [--idle 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SERVER = """
const http = require('http');
const token = process.env.TOKEN;
const server = http.createServer((req, res) => res.end(token));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => setTimeout(() => process.exit(0), Number(process.env.DRAIN_MS)));
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Client(threading.Thread):
    """Asks the server every 2 ms; keeps (time, answer) of every answer."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.answers: list[tuple[float, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1) as response:
                    self.answers.append((time.monotonic(), response.read().decode()))
            except OSError:
                pass
            time.sleep(0.002)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_start_ms(project: Path, env: dict[str, str], port: int) -> float:
    """`npm start` alone, from spawn to first answer: the floor under any restart gap."""
    started = time.monotonic()
    server = subprocess.Popen(["npm", "start", "--silent"], cwd=project, env={**env, "TOKEN": "bare"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                    return (time.monotonic() - started) * 1000
            except OSError:
                time.sleep(0.002)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--drain", type=float, default=2.0, help="seconds the server drains on SIGTERM")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle to measure CPU over")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        scripts = {"start": "node server.js"}
        (project / "package.json").write_text(json.dumps({"name": "gap", "version": "1.0.0", "scripts": scripts}))
        (project / "server.js").write_text(SERVER)
        (project / ".env.development").write_text("TOKEN=v0\n")
        port = free_port()
        env = {**os.environ, "PORT": str(port), "DRAIN_MS": str(int(options.drain * 1000)), "NODE_ENV": "development"}
        bare = statistics.median(bare_start_ms(project, env, port) for _ in range(3))
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "calitho_env", "run", "--watch", "--", "npm", "start", "--silent"],
            cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = Client(port)
        client.start()
        try:
            gaps, totals = [], []
            for n in range(1, options.restarts + 1):
                while not client.answers or client.answers[-1][1] != f"v{n - 1}":
                    time.sleep(0.01)
                edited = time.monotonic()
                (project / ".env.development").write_text(f"TOKEN=v{n}\n")
                while client.answers[-1][1] != f"v{n}":
                    time.sleep(0.01)
                old = max(at for at, token in client.answers if token == f"v{n - 1}")
                new = min(at for at, token in client.answers if token == f"v{n}")
                gaps.append((new - old) * 1000)
                totals.append((new - edited) * 1000)
            time.sleep(1)
            before, started = cpu_seconds(supervisor.pid), time.monotonic()
            time.sleep(options.idle)
            cpu = (cpu_seconds(supervisor.pid) - before) / (time.monotonic() - started) * 100
            rss = rss_mib(supervisor.pid)
        finally:
            client.done.set()
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(timeout=options.drain + 15)
    print(f"npm start -> node, draining {options.drain:g} s on SIGTERM, {options.restarts} restarts (development)")
    print(f"gap, last old answer to first new one: median {statistics.median(gaps):.0f} ms, max {max(gaps):.0f} ms")
    print(f"npm start alone, spawn to first answer: median {bare:.0f} ms (the floor under the gap)")
    print(f"edit to first new answer: median {statistics.median(totals):.0f} ms (the 1 s interval, the drain, npm)")
    print(f"supervisor idle: {rss:.1f} MiB resident, {cpu:.2f} % of one core (watching every 1 s)")


if __name__ == "__main__":
    main()
