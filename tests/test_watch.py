"""`run --watch`: restart on rotation, and a correct init. Real processes against the moto server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Create, aws_env, base_env, lines, pid_namespace, wait_for, write

LAUNCH = [sys.executable, "-m", "calitho_env"]
AS_PID_1, NO_PID_NAMESPACE = pid_namespace()
FAST = ["--watch", "--watch-interval", "0.2", "--restart-spread", "0", "--restart-grace", "2"]

# A child that logs each start with its TOKEN's length (never the value) and its pid, and each SIGTERM.
CHILD = """
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
token = os.environ.get("TOKEN", "")
log.write(f"start {os.getpid()} {token.rsplit('-', 1)[-1]}\\n")
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: (log.write("term\\n"), sys.exit(0)))
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def watched(project: Path, tmp_path: Path, create_secret: Create) -> Path:
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    write(tmp_path / "child.py", CHILD)
    return tmp_path / "log"


def start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LAUNCH, *args], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop(launched: subprocess.Popen[str]) -> tuple[int, str]:
    launched.send_signal(signal.SIGTERM)
    _, err = launched.communicate(timeout=15)
    return launched.returncode, err


def child_command(tmp_path: Path) -> list[str]:
    return [sys.executable, str(tmp_path / "child.py"), str(tmp_path / "log")]


def rotate(secretsmanager: Any, value: str) -> None:
    secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=json.dumps({"TOKEN": value}))


@pytest.mark.serial
def test_a_rotation_restarts_the_child_with_the_new_value(
    project: Path, tmp_path: Path, proxy: AwsProxy, watched: Path, secretsmanager: Any
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, "run", "-v", *FAST, "--", *child_command(tmp_path))  # a restart is info
    wait_for(lambda: len(lines(watched)) == 1)
    assert lines(watched)[0].endswith(" one")
    proxy.reset_counts()
    rotated = time.monotonic()
    rotate(secretsmanager, f"{SENTINEL}-two")
    wait_for(lambda: any(line.endswith(" two") for line in lines(watched)))
    assert time.monotonic() - rotated < 0.2 * 1.1 + 0 + 2 + 3  # interval + spread + grace, and slack
    code, err = stop(launched)
    assert code == 0  # the child's status: it exits 0 on SIGTERM
    assert [line.split()[0] for line in lines(watched)] == ["start", "term", "start", "term"]
    assert proxy.calls["GetSecretValue"] == 1  # the re-resolution after the change, nothing else
    assert "restarting" in err
    assert SENTINEL not in err


@pytest.mark.serial
def test_while_nothing_changes_only_describe_secret_is_called_and_nothing_restarts(
    project: Path, tmp_path: Path, proxy: AwsProxy, watched: Path
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, "run", *FAST, "--", *child_command(tmp_path))
    wait_for(lambda: len(lines(watched)) == 1)
    proxy.reset_counts()
    time.sleep(2)
    calls = dict(proxy.calls)
    stop(launched)
    assert set(calls) == {"DescribeSecret"}
    assert 4 <= calls["DescribeSecret"] <= 14  # one per 0.2 s give or take the jitter
    assert len([line for line in lines(watched) if line.startswith("start")]) == 1


@pytest.mark.serial
@pytest.mark.parametrize("trouble", ["AWS down", "the new version is not JSON"])
def test_trouble_leaves_the_child_running_untouched_with_a_warning(
    project: Path, tmp_path: Path, proxy: AwsProxy, watched: Path, secretsmanager: Any, trouble: str
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, "run", *FAST, "--", *child_command(tmp_path))
    wait_for(lambda: len(lines(watched)) == 1)
    if trouble == "AWS down":
        proxy.add(Fault("InternalServiceError", status=500, action="DescribeSecret"))
    else:
        secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=f"not json {SENTINEL}")
    time.sleep(2)
    _, err = stop(launched)
    assert len([line for line in lines(watched) if line.startswith("start")]) == 1
    said = "could not ask for new versions" if trouble == "AWS down" else "not restarting"
    assert said in err
    assert SENTINEL not in err


@pytest.mark.serial
def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(
    project: Path, tmp_path: Path, proxy: AwsProxy, watched: Path, secretsmanager: Any
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", IGNORE_TERM="1")
    launched = start(
        project, env, "run", "--watch", "--watch-interval", "0.2", "--restart-spread", "0", "--restart-grace", "0.5",
        "--", *child_command(tmp_path),
    )  # fmt: skip
    wait_for(lambda: len(lines(watched)) == 1)
    rotate(secretsmanager, f"{SENTINEL}-two")
    wait_for(lambda: any(line.endswith(" two") for line in lines(watched)))
    first, second = (int(line.split()[1]) for line in lines(watched) if line.startswith("start"))
    assert not Path(f"/proc/{first}").exists()  # killed after the grace, and reaped
    for pid in (launched.pid, second):  # both ignore SIGTERM
        os.kill(pid, signal.SIGKILL)
    _, err = launched.communicate(timeout=10)
    assert "ignored SIGTERM for 0.5 s: SIGKILL" in err


def test_sigterm_reaches_the_whole_process_group_and_the_child_status_comes_back(
    project: Path, tmp_path: Path, aws: str
) -> None:
    grand = write(tmp_path / "grand.py", CHILD)
    script = f'trap "" TERM; {sys.executable} {grand} {tmp_path / "log"}; exit 7'
    launched = start(project, base_env(tmp_path), "run", "--watch", "--", "sh", "-c", script)
    wait_for(lambda: len(lines(tmp_path / "log")) == 1)
    code, _ = stop(launched)
    assert lines(tmp_path / "log")[-1] == "term"  # the grandchild got SIGTERM, though sh ignores it
    assert code == 7


@pytest.mark.parametrize(("code", "expected"), [("sys.exit(3)", 3), ("os.kill(os.getpid(), signal.SIGKILL)", -9)])
def test_a_crashing_child_is_not_restarted_and_its_status_comes_back_unchanged(
    project: Path, tmp_path: Path, code: str, expected: int
) -> None:
    program = f"import os, signal, sys; {code}"
    completed = subprocess.run(
        [*LAUNCH, "run", "--watch", "--", sys.executable, "-c", program],
        cwd=project, env=base_env(tmp_path), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert completed.returncode == expected


@pytest.mark.serial
@pytest.mark.skipif(not AS_PID_1, reason=NO_PID_NAMESPACE)
def test_as_pid_1_orphans_are_reaped(project: Path, tmp_path: Path) -> None:
    # The inner sh starts a subshell and exits at once: the subshell (sleep 0.7) is orphaned, so its parent
    # becomes PID 1 (calitho-env); it ends 0.7 s later and stays a zombie unless PID 1 reaps it.
    orphaning = "sh -c 'sleep 0.7 &'; exec sleep 5"
    unshare = subprocess.Popen(
        [*AS_PID_1, *LAUNCH, "run", "--watch", "--", "sh", "-c", orphaning],
        cwd=project, env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(_children(unshare.pid)))
        launcher = _children(unshare.pid)[0]
        orphans: list[int] = []

        def orphan_seen() -> bool:
            orphans[:] = [pid for pid in _children(launcher) if _cmdline(pid) == ["sleep", "0.7"]]
            return bool(orphans)

        wait_for(orphan_seen, 5)  # the orphan existed, as a child of PID 1
        wait_for(lambda: not Path(f"/proc/{orphans[0]}").exists(), 5)  # and was reaped: no zombie left
    finally:
        unshare.kill()
        unshare.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except OSError:
        return []


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_starts_node_whose_server_receives_sigterm(project: Path, tmp_path: Path) -> None:
    write(project / "package.json", json.dumps({"name": "t", "version": "1.0.0", "scripts": {"start": "node s.js"}}))
    write(
        project / "s.js",
        "process.on('SIGTERM', () => { console.log('node got SIGTERM'); process.exit(0); });\n"
        "console.log('node listening'); setInterval(() => {}, 1000);\n",
    )
    launched = start(project, base_env(tmp_path), "run", "--watch", "--", "npm", "start", "--silent")
    assert launched.stdout is not None
    assert launched.stdout.readline().strip() == "node listening"
    launched.send_signal(signal.SIGTERM)
    out, _ = launched.communicate(timeout=15)
    assert "node got SIGTERM" in out


@pytest.mark.serial
def test_in_development_a_change_to_an_env_file_restarts_the_child(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "child.py", CHILD)
    write(project / ".env.development", "TOKEN=dev-one\n")
    launched = start(project, base_env(tmp_path), "run", "--watch", "--watch-interval", "0.2", "--",
                     *child_command(tmp_path))  # fmt: skip
    wait_for(lambda: len(lines(tmp_path / "log")) == 1)
    time.sleep(0.1)
    write(project / ".env.development", "TOKEN=dev-two\n")
    wait_for(lambda: any(line.endswith(" two") for line in lines(tmp_path / "log")))
    code, _ = stop(launched)
    assert code == 0


def test_an_interactive_child_gets_the_terminal_and_ctrl_c(project: Path, tmp_path: Path) -> None:
    import pexpect

    program = "import sys; print('ready', flush=True); print('typed', input(), flush=True); input()"
    session = pexpect.spawn(
        sys.executable, [*LAUNCH[1:], "run", "--watch", "--", sys.executable, "-c", program],
        cwd=str(project), env=base_env(tmp_path), encoding="utf-8", timeout=20,
    )  # fmt: skip
    session.expect_exact("ready")
    session.sendline("hello")  # the keyboard reaches the child: it is the terminal's foreground group
    session.expect_exact("typed hello")
    session.sendcontrol("c")  # so does Ctrl-C; the child dies of SIGINT, and calitho-env the same way
    session.expect(pexpect.EOF)
    session.close()
    assert session.signalstatus == signal.SIGINT  # re-raised, not exit 130: the shell sees 128+2 either way
    assert session.exitstatus is None
