"""`run --watch`: when a restart may happen, and what the supervisor passes on. Through the real CLI.

Each test asserts what the child sees (its starts, its values' last word, the signals it gets),
never the watcher's internals, so they hold for any implementation of the README's promises.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Create, aws_env, lines, wait_for, write

LAUNCH = [sys.executable, "-m", "calitho_env"]
FORWARDED = ["HUP", "QUIT", "USR1", "USR2", "WINCH", "INT", "TERM"]  # README "run --watch": a correct init

# Logs each start with the last word of its TOKEN (never the value), every forwarded signal by name;
# ends on SIGTERM, or on the signal named by END_ON.
CHILD = """
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
log.write(f"start {os.getpid()} {os.environ.get('TOKEN', 'unset').rsplit('-', 1)[-1]}\\n")
end_on = os.environ.get("END_ON", "TERM")
def got(number, frame):
    name = signal.Signals(number).name[3:]
    log.write(f"signal {name}\\n")
    if name in (end_on, "TERM"):
        sys.exit(0)
for name in FORWARDED_NAMES:
    signal.signal(getattr(signal, "SIG" + name), got)
while True:
    time.sleep(0.05)
""".replace("FORWARDED_NAMES", repr(FORWARDED))


def starts(log: Path) -> list[str]:
    """The last word of TOKEN at each start of the child."""
    return [line.split()[2] for line in lines(log) if line.startswith("start")]


@pytest.fixture
def log(project: Path, tmp_path: Path, create_secret: Create) -> Path:
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-one"})
    # What a restart on fallback would start the child with: the env file's value of TOKEN.
    write(project / ".env", f"AWS_SECRET_APP=calitho-suite/app\nTOKEN={SENTINEL}-file\n")
    write(tmp_path / "child.py", CHILD)
    return tmp_path / "log"


def next_event(descriptor: int, name: str, deadline: float) -> dict[str, Any]:
    """The first JSON log line of event `name`, read from the pipe itself the moment it is written
    (a buffered readline after select could hold it back until the next line comes)."""
    pending = b""
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            event: dict[str, Any] = json.loads(line)
            if event.get("event") == name:
                return event
        assert select.select([descriptor], [], [], max(deadline - time.monotonic(), 0))[0], f"no {name}"
        chunk = os.read(descriptor, 65536)
        assert chunk, f"stderr closed before {name}"
        pending += chunk


def start(project: Path, env: dict[str, str], tmp_path: Path, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, str(tmp_path / "child.py"), str(tmp_path / "log")]
    return subprocess.Popen(
        [*LAUNCH, "run", "--watch", "--watch-interval", "0.2", *options, "--", *command],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(launched: subprocess.Popen[str]) -> tuple[int, str]:
    launched.send_signal(signal.SIGTERM)
    _, err = launched.communicate(timeout=15)
    return launched.returncode, err


def put(secretsmanager: Any, value: str) -> None:
    secretsmanager.put_secret_value(SecretId="calitho-suite/app", SecretString=json.dumps({"TOKEN": value}))


FAST = ["--restart-spread", "0", "--restart-grace", "2"]


@pytest.mark.serial
@pytest.mark.parametrize("code", ["AccessDeniedException", "DecryptionFailure"])
def test_a_new_version_get_secret_value_cannot_read_never_restarts_the_child(
    project: Path, tmp_path: Path, proxy: AwsProxy, log: Path, secretsmanager: Any, code: str
) -> None:
    # DescribeSecret sees the new version; GetSecretValue of it fails (a permission or KMS change):
    # the re-resolution would give the env file's TOKEN, and that must not restart production.
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, tmp_path, *FAST)
    wait_for(lambda: starts(log) == ["one"])
    proxy.add(Fault(code, action="GetSecretValue"))
    proxy.reset_counts()
    put(secretsmanager, f"{SENTINEL}-two")
    wait_for(lambda: proxy.calls["GetSecretValue"] >= 2)  # two re-resolutions tried and failed
    time.sleep(0.5)
    _, err = stop(launched)
    assert starts(log) == ["one"]
    assert "not restarting" in err
    assert SENTINEL not in err


@pytest.mark.serial
def test_the_read_that_failed_is_tried_again_and_restarts_once_it_succeeds(
    project: Path, tmp_path: Path, proxy: AwsProxy, log: Path, secretsmanager: Any
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, tmp_path, *FAST)
    wait_for(lambda: starts(log) == ["one"])
    fault = proxy.add(Fault("AccessDeniedException", action="GetSecretValue"))
    proxy.reset_counts()
    put(secretsmanager, f"{SENTINEL}-two")
    wait_for(lambda: proxy.calls["GetSecretValue"] >= 1)
    proxy.faults.remove(fault)  # the permission is back: the next interval reads the new version
    wait_for(lambda: starts(log) == ["one", "two"])
    code, err = stop(launched)
    assert code == 0
    assert SENTINEL not in err


@pytest.mark.serial
def test_a_new_version_with_the_same_content_never_restarts_the_child(
    project: Path, tmp_path: Path, proxy: AwsProxy, log: Path, secretsmanager: Any
) -> None:
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    launched = start(project, env, tmp_path, *FAST)
    wait_for(lambda: starts(log) == ["one"])
    proxy.reset_counts()
    put(secretsmanager, f"{SENTINEL}-one")  # a new version id, the same value
    wait_for(lambda: proxy.calls["GetSecretValue"] >= 1)  # the new version was read
    time.sleep(1)
    assert proxy.calls["GetSecretValue"] == 1  # read once: the new version is then the one known
    _, err = stop(launched)
    assert starts(log) == ["one"]
    assert SENTINEL not in err


@pytest.mark.serial
@pytest.mark.parametrize("name", ["USR1", "HUP"])
def test_restart_signal_is_the_signal_the_child_gets_before_a_restart(
    project: Path, tmp_path: Path, aws: str, log: Path, secretsmanager: Any, name: str
) -> None:
    env = aws_env(aws, tmp_path, NODE_ENV="production", END_ON=name)
    launched = start(project, env, tmp_path, *FAST, "--restart-signal", name)
    wait_for(lambda: starts(log) == ["one"])
    put(secretsmanager, f"{SENTINEL}-two")
    wait_for(lambda: starts(log) == ["one", "two"])
    stop(launched)
    assert lines(log)[1] == f"signal {name}"  # the first child got exactly this signal, and nothing before it


@pytest.mark.serial
def test_restart_spread_delays_the_restart_by_what_the_log_announces(
    project: Path, tmp_path: Path, aws: str, log: Path, secretsmanager: Any
) -> None:
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    launched = start(project, env, tmp_path, "--restart-spread", "3", "--log-format", "json", "-v")
    wait_for(lambda: starts(log) == ["one"])
    put(secretsmanager, f"{SENTINEL}-two")
    assert launched.stderr is not None
    planned = next_event(launched.stderr.fileno(), "restart_planned", time.monotonic() + 15)
    announced = time.monotonic()
    assert 0 <= planned["delay"] <= 3
    wait_for(lambda: starts(log) == ["one", "two"])
    assert time.monotonic() - announced >= planned["delay"] - 0.15
    stop(launched)


def test_spread_draws_from_the_whole_range_and_never_beyond_it() -> None:
    from calitho_env.core.supervision import jittered, spread

    draws = [spread(10) for _ in range(2000)]
    assert all(0 <= d <= 10 for d in draws)
    assert min(draws) < 1
    assert max(draws) > 9
    assert spread(0) == 0
    assert max(spread(0.5) for _ in range(200)) > 0.25  # a spread under a second is a spread too
    polls = [jittered(100) for _ in range(2000)]
    assert all(90 <= p <= 110 for p in polls)
    assert min(polls) < 92
    assert max(polls) > 108


@pytest.mark.serial
def test_every_listed_signal_reaches_the_child(project: Path, tmp_path: Path, log: Path) -> None:
    env = aws_env("http://127.0.0.1:9", tmp_path)  # development: no AWS
    launched = start(project, env, tmp_path)
    wait_for(lambda: len(starts(log)) == 1)
    for name in FORWARDED:
        launched.send_signal(getattr(signal, f"SIG{name}"))
        wait_for(lambda name=name: f"signal {name}" in lines(log))  # type: ignore[misc]
    launched.communicate(timeout=15)
    assert [line.split()[1] for line in lines(log) if line.startswith("signal")] == FORWARDED
    assert launched.returncode == 0  # the child's own status once SIGTERM ended it
