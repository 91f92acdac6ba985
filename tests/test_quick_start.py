"""The README's quick start, pasted as one block into bash from an empty folder, does what it says."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.harness import base_env

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

PRODUCTION_URL = "postgresql://app:pw@db.internal/app"  # what the block stores in Secrets Manager
DEVELOPMENT_URL = "postgresql://localhost/dev"  # what the block writes to .env.development


def quick_start_block() -> tuple[str, str]:
    """The first fenced block of the README's "## Quick start" section: (its info string, its text)."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(r"^## Quick start.*$", text, re.MULTILINE)
    assert heading, "README.md has no '## Quick start' section"
    following = re.search(r"^## ", text[heading.end() :], re.MULTILINE)
    section = text[heading.end() : heading.end() + following.start()] if following else text[heading.end() :]
    block = FENCE.search(section)
    assert block, "the quick start has no fenced block"
    return block.group(1).strip(), block.group(2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_readme_quick_start_runs_pasted_as_one_block_from_an_empty_folder(tmp_path: Path) -> None:
    language, block = quick_start_block()
    assert language == "bash", "the block is pasted into bash: mark its fence ```bash"
    folder = tmp_path / "empty"
    folder.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    # calitho-env, moto_server and pip as the reader has them after installing into this environment
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    # pip finds moto[server] installed (make test installs it) and asks no index: no traffic beyond 127.0.0.1
    offline = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env = base_env(home, {"PATH": path, "MOTO_PORT": str(free_port()), **offline})
    out, err = tmp_path / "stdout", tmp_path / "stderr"  # files, not pipes: the server it leaves behind holds them
    with out.open("w") as stdout_file, err.open("w") as stderr_file:
        shell = subprocess.Popen(
            ["bash", "-c", block],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout_file,
            stderr=stderr_file,
            start_new_session=True,  # its own process group, so whatever it starts in the background ends with it
        )
        try:
            shell.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGTERM)
    stdout, stderr = out.read_text(), err.read_text()
    said = f"stdout:\n{stdout}\nstderr:\n{stderr}"

    assert shell.returncode == 0, said
    lines = stdout.splitlines()
    assert lines[0] == DEVELOPMENT_URL, said  # development: .env.development
    assert lines[1] == PRODUCTION_URL, said  # production: the value setup stored, not the development one
    assert stdout.count(PRODUCTION_URL) == 1, said  # the table masks it
    assert re.search(r"^DATABASE_URL +aws:calitho-suite/database@", stdout, re.MULTILINE), said
    assert "all is well" in lines, said
    assert lines[-1] == "refused to start (exit 78)", said  # without Secrets Manager, no development value stands in
    assert DEVELOPMENT_URL not in stdout.split("all is well")[1], said
    assert "HTTP/1.1" not in stdout + stderr, said  # the server's request log stays in moto.log
    assert "Traceback" not in stderr, said
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, said
    assert errors[0].startswith("calitho-env: error: required variable(s) missing or empty: DATABASE_URL"), said

    mappings = (folder / ".env").read_text(encoding="utf-8")
    assert "AWS_SECRET_DATABASE=calitho-suite/database" in mappings
    assert "postgresql://" not in mappings
    assert "redis://" not in mappings
    assert not (folder / ".env.production").exists()
