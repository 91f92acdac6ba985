"""`run --watch` in an interactive shell: Ctrl-Z and `fg` work as for any job. A real pseudo-terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.harness import base_env, write

CHILD = "print('ready', flush=True)\nprint('typed', input(), flush=True)\nprint('again', input(), flush=True)\n"


def test_ctrl_z_stops_the_job_and_fg_gives_the_terminal_back_to_the_child(project: Path, tmp_path: Path) -> None:
    import pexpect

    write(tmp_path / "child.py", CHILD)
    env = base_env(tmp_path, {"PS1": "PROMPT> ", "TERM": "dumb"})
    shell = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], cwd=str(project), env=env, encoding="utf-8", timeout=20
    )
    try:
        shell.expect_exact("PROMPT> ")
        shell.sendline(f"{sys.executable} -m calitho_env run --watch -- {sys.executable} {tmp_path / 'child.py'}")
        shell.expect_exact("ready")
        shell.sendcontrol("z")
        shell.expect("Stopped")  # the shell saw the job stop ...
        shell.expect_exact("PROMPT> ")  # ... and has the terminal again
        shell.sendline("fg")
        shell.sendline("hello")  # the keyboard reaches the child again: it owns the terminal
        shell.expect_exact("typed hello")
        shell.sendline("world")
        shell.expect_exact("again world")
        shell.expect_exact("PROMPT> ")
        shell.sendline("echo status=$?")
        shell.expect_exact("status=0")
    finally:
        shell.close(force=True)
