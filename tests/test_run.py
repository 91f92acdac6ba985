"""`run` becomes the target: same PID, its exit status and signals, arguments verbatim."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import Cli, base_env, write


def launcher(*args: str) -> list[str]:
    return [sys.executable, "-m", "calitho_env", *args]


def test_the_child_has_the_launchers_pid(project: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        launcher("run", "--", sys.executable, "-c", "import os; print(os.getpid())"),
        cwd=project,
        env=base_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = process.communicate(timeout=30)
    assert int(out) == process.pid


def test_the_childs_exit_status_is_the_launchers(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", "--", sys.executable, "-c", "raise SystemExit(42)", env=base_env(tmp_path)).returncode == 42


def test_a_signal_that_kills_the_child_kills_the_launcher(cli: Cli, tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    assert cli("run", "--", sys.executable, "-c", code, env=base_env(tmp_path)).returncode == -signal.SIGTERM


def test_the_child_does_not_inherit_pythons_ignored_sigpipe(cli: Cli, tmp_path: Path) -> None:
    # cat, not python: python would ignore SIGPIPE again at its own start.
    result = cli("run", "--", "cat", "/proc/self/status", env=base_env(tmp_path))
    ignored = int(next(line for line in result.stdout.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))


def test_a_signal_sent_to_the_launcher_reaches_the_child(project: Path, tmp_path: Path) -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)"
    )
    process = subprocess.Popen(
        launcher("run", "--", sys.executable, "-c", code),
        cwd=project,
        env=base_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGUSR1)
    assert process.wait(timeout=30) == 7


def test_every_argument_after_the_separator_is_passed_verbatim(cli: Cli, tmp_path: Path) -> None:
    arguments = ["--mode", "-v", "--", "", "a b", "$HOME", "*", "`id`", "ünïcode", "--help"]
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    result = cli("run", "--", sys.executable, "-c", code, *arguments, env=base_env(tmp_path))
    assert json.loads(result.stdout) == arguments


def test_no_shell_interprets_the_command(cli: Cli, project: Path, tmp_path: Path) -> None:
    result = cli("run", "--", "echo hi; touch pwned", env=base_env(tmp_path))
    assert result.returncode == 127
    assert not (project / "pwned").exists()


def test_a_missing_command_exits_127_with_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "--", "no-such-command-anywhere", env=base_env(tmp_path))
    assert result.returncode == 127
    assert result.stderr == "calitho-env: error: 'no-such-command-anywhere': command not found\n"


def test_a_command_that_is_not_executable_exits_126(cli: Cli, project: Path, tmp_path: Path) -> None:
    script = write(project / "script.sh", "#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    result = cli("run", "--", "./script.sh", env=base_env(tmp_path))
    assert result.returncode == 126
    assert result.stderr == "calitho-env: error: './script.sh': permission denied\n"


def test_run_without_a_command_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", env=base_env(tmp_path)).returncode == 2


def test_the_command_is_searched_in_the_childs_path(cli: Cli, project: Path, tmp_path: Path) -> None:
    tool = write(tmp_path / "bin" / "calitho-test-tool", "#!/bin/sh\necho found-it\n")
    tool.chmod(0o755)
    write(project / ".env", f"PATH={tmp_path / 'bin'}:/usr/bin:/bin\n")
    env = base_env(tmp_path)
    del env["PATH"]  # the process environment would win over the file
    result = cli("run", "--", "calitho-test-tool", env=env)
    assert result.stdout.strip() == "found-it"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_node_child_reads_the_variables_from_process_env(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "DATABASE_URL=postgres://dev/app\nNEXTAUTH_SECRET='dev secret # not a comment'\n")
    code = "console.log(JSON.stringify([process.env.DATABASE_URL, process.env.NEXTAUTH_SECRET]))"
    result = cli("run", "--", "node", "-e", code, env=base_env(tmp_path))
    assert json.loads(result.stdout) == ["postgres://dev/app", "dev secret # not a comment"]


def test_arguments_after_the_command_need_no_separator(cli: Cli, tmp_path: Path) -> None:
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    result = cli("run", sys.executable, "-c", code, "--mode", "-v", env=base_env(tmp_path))
    assert json.loads(result.stdout) == ["--mode", "-v"]


def test_a_mistyped_option_before_the_command_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "--mdoe", "production", "--", "true", env=base_env(tmp_path))
    assert result.returncode == 2
    assert "No such option '--mdoe'" in result.stderr
