"""Signals and process edge cases: a stop signal during resolution starts nothing, also as PID 1;
closed descriptors, empty commands, scripts without #!, helpers that would outlive the exec."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Cli, assert_no_leak, aws_env, base_env, pid_namespace, write

STOPS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT]
AS_PID_1, NO_PID_NAMESPACE = pid_namespace()
LAUNCH = [sys.executable, "-m", "calitho_env"]


def _stalled(project: Path, proxy: AwsProxy) -> None:
    write(project / ".env", f"AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL={SENTINEL}\n")
    proxy.add(Fault(stall=True))


def _wait_for(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _child_of(pid: int) -> int:
    """The process that unshare --fork started (PID 1 of the new namespace), seen from here."""
    children: list[str] = []

    def found() -> bool:
        children[:] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return bool(children)

    _wait_for(found)
    return int(children[0])


@pytest.mark.serial
@pytest.mark.skipif(not AS_PID_1, reason=NO_PID_NAMESPACE)
@pytest.mark.parametrize("stop", STOPS, ids=[s.name for s in STOPS])
def test_as_pid_1_a_stop_signal_during_resolution_ends_it_with_128_plus_n_and_starts_nothing(
    project: Path, tmp_path: Path, proxy: AwsProxy, stop: signal.Signals
) -> None:
    _stalled(project, proxy)
    marker = tmp_path / "started"
    command = [*AS_PID_1, *LAUNCH, "run", "--timeout", "60", "--", "touch", str(marker)]
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    unshare = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        launcher = _child_of(unshare.pid)
        (nspid,) = [
            line for line in Path(f"/proc/{launcher}/status").read_text().splitlines() if line.startswith("NSpid:")
        ]
        assert nspid.split()[-1] == "1"  # PID 1 of its namespace, as a container's ENTRYPOINT is
        _wait_for(lambda: proxy.calls["GetSecretValue"] >= 1)
        sent = time.monotonic()
        os.kill(launcher, stop)
        code = unshare.wait(timeout=5)
        assert time.monotonic() - sent < 2
    finally:
        for pid in (launcher, unshare.pid):
            with contextlib.suppress(ProcessLookupError, UnboundLocalError):
                os.kill(pid, signal.SIGKILL)
        out, err = unshare.communicate()
    assert code == 128 + stop
    assert not marker.exists()
    assert SENTINEL not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize("stop", STOPS, ids=[s.name for s in STOPS])
def test_a_stop_signal_during_resolution_exits_128_plus_n_when_not_pid_1(
    project: Path, tmp_path: Path, proxy: AwsProxy, stop: signal.Signals
) -> None:
    _stalled(project, proxy)
    marker = tmp_path / "started"
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = subprocess.Popen(
        [*LAUNCH, "run", "--timeout", "60", "--", "touch", str(marker)],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for(lambda: proxy.calls["GetSecretValue"] >= 1)
    launched.send_signal(stop)
    _, err = launched.communicate(timeout=5)
    assert launched.returncode == 128 + stop
    assert not marker.exists()
    assert "error: aborted" not in err
    assert "Traceback" not in err


def test_an_ignored_hangup_stays_ignored_for_the_child(cli: Cli, tmp_path: Path) -> None:
    """nohup calitho-env run -- CMD: CMD must still ignore SIGHUP."""
    probe = "import signal; print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN)"
    completed = subprocess.run(
        ["nohup", *LAUNCH, "run", "--", sys.executable, "-c", probe],
        cwd=tmp_path, env=base_env(tmp_path), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert completed.stdout.strip() == "True"


# --- descriptors and commands -------------------------------------------------------------


@pytest.mark.parametrize("closed", ["1", "2", "1 and 2"])
def test_run_with_stdout_or_stderr_closed_still_starts_the_child(
    project: Path, tmp_path: Path, aws: str, closed: str
) -> None:
    marker = tmp_path / "started"
    write(project / ".env", "AWS_SECRET_GONE=calitho-suite/gone\n")  # production: a warning to write
    redirect = {"1": ">&-", "2": "2>&-", "1 and 2": ">&- 2>&-"}[closed]
    script = f'exec "$@" {redirect}'
    command = ["sh", "-c", script, "sh", *LAUNCH, "run", "--", "touch", str(marker)]
    completed = subprocess.run(
        command, cwd=project, env=aws_env(aws, tmp_path, NODE_ENV="production"), capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert marker.exists()


def test_an_empty_command_exits_127_with_a_message(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "--", "", env=base_env(tmp_path))
    assert result.returncode == 127
    assert "calitho-env: error: '': command not found" in result.stderr
    assert "unexpected" not in result.stderr


def test_a_script_without_a_shebang_exits_126_with_the_hint(cli: Cli, tmp_path: Path) -> None:
    script = write(tmp_path / "script", "echo hi\n")
    script.chmod(0o755)
    result = cli("run", "--", str(script), env=base_env(tmp_path))
    assert result.returncode == 126
    assert "cannot execute: Exec format error" in result.stderr
    assert "#!/bin/sh" in result.stderr


def test_a_hung_credential_process_does_not_outlive_the_exec(project: Path, tmp_path: Path, aws: str) -> None:
    pid_file = tmp_path / "helper.pid"
    helper = write(tmp_path / "helper.sh", f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    helper.chmod(0o755)
    config = write(tmp_path / "aws-config", f"[default]\ncredential_process = {helper}\n")
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production", AWS_CONFIG_FILE=str(config))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    probe = f"import os, sys; pid = int(open({str(pid_file)!r}).read()); print(os.path.exists(f'/proc/{{pid}}'))"
    completed = subprocess.run(
        [*LAUNCH, "run", "--timeout", "1", "--", sys.executable, "-c", probe],
        cwd=project, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False", "the credential helper survived the exec"
    assert "credential" in completed.stderr.lower()


# --- --debug with JSON logs ---------------------------------------------------------------


def test_debug_with_json_logs_keeps_every_line_json_and_puts_the_traceback_in_a_field(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", f"NULLED={SENTINEL}\x00\n")
    result = cli("--debug", "--log-format", "json", "run", "--", "true", env=base_env(tmp_path))
    assert result.returncode == 78
    events = [json.loads(line) for line in result.stderr.splitlines()]
    (error,) = events
    assert error["event"] == "configuration_error"
    assert "Traceback (most recent call last)" in error["traceback"]
    assert_no_leak(result, debug=True)
