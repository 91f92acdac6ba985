"""`run --watch`: a restart or a stop takes down the child's whole process group, and only that.

Real processes through the real CLI: a real `npm start` -> node server that drains on SIGTERM, a
grandchild that ignores SIGTERM, the supervisor as PID 1 of a PID namespace, nohup, core dumps.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.harness import SENTINEL, Create, aws_env, base_env, lines, wait_for, write
from tests.test_watch import LAUNCH

# A node server that answers with the last part of its TOKEN, and drains for 2 s on SIGTERM: it
# keeps its port and keeps answering, as a server finishing its requests does.
SERVER = """
const http = require('http');
const fs = require('fs');
const token = (process.env.TOKEN || '').split('-').pop();
const server = http.createServer((req, res) => res.end(token));
server.listen(Number(process.env.PORT), '127.0.0.1', () => fs.appendFileSync(process.env.LOG, `listening ${token}\\n`));
process.on('SIGTERM', () => {
  fs.appendFileSync(process.env.LOG, `draining ${token}\\n`);
  setTimeout(() => { fs.appendFileSync(process.env.LOG, `drained ${token}\\n`); process.exit(0); }, 2000);
});
"""

# A Python child that writes "start <pid>" and which signals it ignores, then sleeps; with an
# argument, it first starts a grandchild in its group that ignores SIGTERM.
SLEEPER = """
import os, signal, subprocess, sys, time
log = open(os.environ["LOG"], "a", buffering=1)
if len(sys.argv) > 1:
    grand = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE)
    grand.stdout.readline()  # it ignores SIGTERM from here on
    log.write(f"grandchild {grand.pid}\\n")
ignored = next(l for l in open("/proc/self/status") if l.startswith("SigIgn:")).split()[1]
log.write(f"start {os.getpid()} {ignored}\\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""


def save(path: Path, text: str) -> None:
    """Replace the file at once, as editors save: the watcher never reads it half written."""
    write(path.with_name(path.name + ".saving"), text)
    os.replace(path.with_name(path.name + ".saving"), path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answer(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return str(response.read().decode())
    except OSError:
        return None


def processes_holding(value: str) -> list[int]:
    """Every process whose environment holds `value` (root reads them all)."""
    holding = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if value.encode() in (entry / "environ").read_bytes():
                    holding.append(int(entry.name))
            except OSError:
                continue
    return holding


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(project: Path, env: dict[str, str], *args: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LAUNCH, *args], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen
    )


def stop(launched: subprocess.Popen[str]) -> tuple[int, str]:
    if launched.poll() is None:
        launched.send_signal(signal.SIGTERM)
    _, err = launched.communicate(timeout=20)
    return launched.returncode, err


@pytest.mark.serial
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_start_is_restarted_on_the_same_port_with_the_new_value_and_nothing_old_is_left(
    project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    old = f"{SENTINEL}{uuid.uuid4().hex}"  # this test's own: another test's children may hold SENTINEL too
    create_secret("calitho-suite/app", {"TOKEN": f"{old}-one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    write(project / "package.json", json.dumps({"name": "t", "version": "1.0.0", "scripts": {"start": "node s.js"}}))
    write(project / "s.js", SERVER)
    port, log = free_port(), tmp_path / "log"
    env = aws_env(aws, tmp_path, NODE_ENV="production", PORT=str(port), LOG=str(log))
    launched = start(project, env, "run", "--watch", "--watch-interval", "0.2", "--restart-spread", "0",
                     "--", "npm", "start", "--silent")  # fmt: skip
    try:
        wait_for(lambda: answer(port) == "one", 30)
        secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=json.dumps({"TOKEN": "two"}))
        wait_for(lambda: answer(port) == "two", 30)
        assert launched.poll() is None  # no EADDRINUSE: the new server started once the old one was gone
        assert lines(log) == ["listening one", "draining one", "drained one", "listening two"]
        assert processes_holding(f"{old}-one") == []
    finally:
        code, err = stop(launched)
    assert code in (0, -signal.SIGTERM)  # npm's own status: it ends at once on SIGTERM, or when node does
    assert lines(log)[-2:] == ["draining two", "drained two"]  # the stop waited for the drain
    assert SENTINEL not in err


def test_a_grandchild_that_ignores_sigterm_is_killed_after_the_grace(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "sleeper.py", SLEEPER)
    old = f"{SENTINEL}{uuid.uuid4().hex}"  # this test's own: another test's children may hold SENTINEL too
    write(project / ".env.development", f"TOKEN={old}-one\n")
    env = base_env(tmp_path, {"LOG": str(tmp_path / "log")})
    launched = start(project, env, "run", "--watch", "--watch-interval", "0.2", "--restart-grace", "0.5",
                     "--", sys.executable, str(tmp_path / "sleeper.py"), "grandchild")  # fmt: skip
    try:

        def started() -> int:
            return len([line for line in lines(tmp_path / "log") if line.startswith("start")])

        for restart in range(3):
            wait_for(lambda: started() == restart + 1)  # noqa: B023 - waited for within the loop
            save(project / ".env.development", f"TOKEN={SENTINEL}-{restart + 2}\n")
        wait_for(lambda: started() == 4)
        grandchildren = [int(x.split()[1]) for x in lines(tmp_path / "log") if x.startswith("grandchild")]
        assert [pid for pid in grandchildren[:-1] if alive(pid)] == []  # each old one was killed, and reaped
        assert alive(grandchildren[-1])
        assert processes_holding(f"{old}-one") == []
    finally:
        _, err = stop(launched)
        for line in lines(tmp_path / "log"):  # whatever went wrong, leave nothing behind
            if line.startswith("grandchild") and alive(int(line.split()[1])):
                os.kill(int(line.split()[1]), signal.SIGKILL)
    assert "ignored SIGTERM for 0.5 s: SIGKILL" in err
    assert SENTINEL not in err


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare and root")
def test_as_pid_1_a_stop_waits_for_the_group_to_drain(project: Path, tmp_path: Path) -> None:
    drain = (
        "import os, signal, sys, time\n"
        "log = open(os.environ['LOG'], 'a', buffering=1)\n"
        "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.5), log.write('drained\\n'), sys.exit(0)))\n"
        "log.write('ready\\n')\n"
        "time.sleep(600)\n"
    )
    write(tmp_path / "drain.py", drain)
    log = tmp_path / "log"
    env = base_env(tmp_path, {"LOG": str(log)})
    script = f"{sys.executable} {tmp_path / 'drain.py'}; exit $?"  # sh dies of SIGTERM at once, python drains
    unshare = subprocess.Popen(
        ["unshare", "--pid", "--fork", *LAUNCH, "run", "--watch", "--", "sh", "-c", script],
        cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: lines(log) == ["ready"], 20)
        supervisor = int(Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()[0])
        os.kill(supervisor, signal.SIGTERM)
        unshare.communicate(timeout=20)
    finally:
        unshare.kill()
    assert lines(log) == ["ready", "drained"]


def test_a_signal_ignored_by_the_parent_stays_ignored_in_the_supervisor_and_the_child(
    project: Path, tmp_path: Path
) -> None:
    write(tmp_path / "sleeper.py", SLEEPER)
    env = base_env(tmp_path, {"LOG": str(tmp_path / "log")})

    def nohup() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    launched = start(project, env, "run", "--watch", "--", sys.executable, str(tmp_path / "sleeper.py"),
                     preexec_fn=nohup)  # fmt: skip
    try:
        wait_for(lambda: len(lines(tmp_path / "log")) == 1)
        child, ignored = lines(tmp_path / "log")[0].split()[1:]
        assert int(ignored, 16) & (1 << (signal.SIGHUP - 1))  # the child inherited the ignored SIGHUP
        launched.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert launched.poll() is None
        assert alive(int(child))
    finally:
        code, _ = stop(launched)
    assert code == 0


def test_the_supervisor_never_dumps_core_when_the_child_aborts(project: Path, tmp_path: Path) -> None:
    # The child turns its own core dumps off: any core file left is the supervisor's, full of values.
    program = "import os, resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); os.abort()"
    write(project / ".env.development", f"TOKEN={SENTINEL}\n")

    def unlimited_core() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    completed = subprocess.run(
        [*LAUNCH, "run", "--watch", "--", sys.executable, "-c", program],
        cwd=project, env=base_env(tmp_path), capture_output=True, text=True, timeout=30, preexec_fn=unlimited_core,
    )  # fmt: skip
    assert completed.returncode == 128 + signal.SIGABRT  # what a shell shows for the child's death, without a core
    assert [path.name for path in project.iterdir() if path.name.startswith("core")] == []


def test_an_edit_that_makes_the_environment_too_large_keeps_the_running_child(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "sleeper.py", SLEEPER)
    write(project / ".env.development", "TOKEN=one\n")
    env = base_env(tmp_path, {"LOG": str(tmp_path / "log")})
    launched = start(project, env, "run", "--watch", "--watch-interval", "0.2", "--",
                     sys.executable, str(tmp_path / "sleeper.py"))  # fmt: skip
    try:
        wait_for(lambda: len(lines(tmp_path / "log")) == 1)
        big = "".join(f"BIG_{n}={SENTINEL}{'x' * 100_000}\n" for n in range(30))
        save(project / ".env.development", "TOKEN=two\n" + big)
        time.sleep(1.5)
        assert launched.poll() is None
        assert len(lines(tmp_path / "log")) == 1  # never stopped
    finally:
        code, err = stop(launched)
    assert code == 0
    assert "not restarting" in err
    assert "environment is too large" in err
    assert "BIG_" in err
    assert SENTINEL not in err


def test_plain_run_says_the_environment_is_too_large_with_the_largest_names(project: Path, tmp_path: Path) -> None:
    write(project / ".env.development", "".join(f"BIG_{n}={SENTINEL}{'x' * 100_000}\n" for n in range(30)))
    completed = subprocess.run(
        [*LAUNCH, "run", "--", "true"], cwd=project, env=base_env(tmp_path), capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 126
    assert "the environment is too large" in completed.stderr
    assert "MiB" in completed.stderr
    assert "BIG_" in completed.stderr
    assert "Argument list too long" not in completed.stderr
    assert SENTINEL not in completed.stderr
