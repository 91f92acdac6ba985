"""A real `next start` sees what calitho-env resolved, not what Next.js reads from the env files itself.

The app (tests/nextjs_app) is installed and built by `make nextjs` into build/nextjs; each test
serves that build from a project folder of its own, with its own `.env`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, aws_env, base_env, write

ROOT = Path(__file__).resolve().parent.parent
NEXTJS = ROOT / "build" / "nextjs"
DEVELOPMENT_URL = f"postgresql://localhost/dev-{SENTINEL}"


@pytest.fixture(scope="session")
def nextjs_build() -> Path:
    """The built app; `make nextjs` builds it once (under a lock: the tests may run in parallel)."""
    NEXTJS.parent.mkdir(exist_ok=True)
    with open(NEXTJS.parent / ".nextjs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["make", "-s", "nextjs"], cwd=ROOT, check=True, timeout=600)
    return NEXTJS


@pytest.fixture
def app(nextjs_build: Path, project: Path) -> Path:
    """A project folder holding the build: its `.env` is the one `next start` would read."""
    shutil.copytree(nextjs_build / ".next", project / ".next", ignore=shutil.ignore_patterns("cache"))
    (project / "node_modules").symlink_to(nextjs_build / "node_modules")
    write(project / ".env", f"AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL={DEVELOPMENT_URL}\n")
    return project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(launcher: list[str], app: Path, env: Mapping[str, str]) -> Iterator[str]:
    """`next start` (behind `launcher`), until its route answers; yields the route's URL."""
    port = free_port()
    next_start = ["node", str(app / "node_modules/next/dist/bin/next"), "start", "-p", str(port), "-H", "127.0.0.1"]
    server = subprocess.Popen(
        [*launcher, *next_start],
        cwd=app,
        env={**env, "NEXT_TELEMETRY_DISABLED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/database-url"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        assert server.poll() is None, server.communicate()[1]
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=30)


def answer(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
    return body.decode()


CALITHO_ENV = [sys.executable, "-m", "calitho_env", "-q", "run", "--fallback", "environment", "--timeout", "3", "--"]


def test_next_start_does_not_read_back_a_development_value_calitho_env_withheld(app: Path, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # Secrets Manager: nothing listens there
    env = aws_env(down, tmp_path, NODE_ENV="production")
    with serving(CALITHO_ENV, app, env) as url:
        assert answer(url) == "(unset)"


def test_next_start_serves_the_value_calitho_env_fetched(
    app: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgresql://db.internal/prod"})
    with serving(CALITHO_ENV, app, aws_env(aws, tmp_path, NODE_ENV="production")) as url:
        assert answer(url) == "postgresql://db.internal/prod"


def test_without_calitho_env_next_start_reads_the_env_file_itself(app: Path, tmp_path: Path) -> None:
    """The mechanism the tests above rely on: Next.js fills what is not in its environment from `.env`."""
    with serving([], app, {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}) as url:
        assert answer(url) == DEVELOPMENT_URL


@pytest.mark.parametrize("watch", [[], ["--watch"]])
def test_every_child_of_run_gets_the_mark_that_keeps_next_from_reading_env_files(
    cli: Cli, project: Path, tmp_path: Path, watch: list[str]
) -> None:
    assert cli("run", *watch, "--", *DUMP_ENV, env=base_env(tmp_path)).child_env()["__NEXT_PROCESSED_ENV"] == "true"
    write(project / ".env", "__NEXT_PROCESSED_ENV=\n")  # set on purpose (empty: Next reads its files): kept
    assert cli("run", *watch, "--", *DUMP_ENV, env=base_env(tmp_path)).child_env()["__NEXT_PROCESSED_ENV"] == ""
