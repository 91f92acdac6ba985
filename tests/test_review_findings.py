"""Findings of the adversarial review of the merged product, each through the real CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    Create,
    assert_no_leak,
    assert_no_leak_on_stderr,
    aws_env,
    base_env,
    lines,
    production_env,
    wait_for,
    write,
)
from tests.test_protected_names import CHANNELS, as_set, plant, planted
from tests.test_watch import LAUNCH
from tests.test_watch_restarts import processes_holding, save

# A child that leaves a zombie in its own process group: X forks Y, then leaves the group (setsid)
# and never reaps Y. Y stays in the group as a zombie for as long as X lives.
ZOMBIE_IN_GROUP = """
import os, sys, time
log = open(os.environ["LOG"], "a", buffering=1)
if os.fork() == 0:
    if os.fork() == 0:
        os._exit(0)
    os.dup2(os.open(os.devnull, os.O_RDWR), 2)  # the test reads the supervisor's stderr to its end
    os.setsid()
    log.write(f"outside {os.getpid()}\\n")
    time.sleep(120)
    os._exit(0)
log.write("ready\\n")
time.sleep(600)
"""


def test_a_stop_under_watch_ends_when_only_a_zombie_is_left_in_the_group(project: Path, tmp_path: Path) -> None:
    # A zombie holds nothing (no memory, files or ports) and SIGKILL cannot remove it: counting it as
    # a member kept the supervisor waiting after SIGKILL until the zombie's parent ended.
    write(tmp_path / "child.py", ZOMBIE_IN_GROUP)
    write(project / ".env.development", f"TOKEN={SENTINEL}\n")
    log = tmp_path / "log"
    launched = subprocess.Popen(
        [*LAUNCH, "run", "--watch", "--restart-grace", "0.5", "--", sys.executable, str(tmp_path / "child.py")],
        cwd=project, env=base_env(tmp_path, {"LOG": str(log)}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: "ready" in lines(log) and any(line.startswith("outside") for line in lines(log)), 20)
        launched.send_signal(signal.SIGTERM)
        _, err = launched.communicate(timeout=15)
    finally:
        launched.kill()
        for line in lines(log):
            if line.startswith("outside"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line.split()[1]), signal.SIGKILL)
    assert launched.returncode == -signal.SIGTERM  # ends as the child did
    assert "ignored SIGTERM for 0.5 s: SIGKILL" in err
    assert SENTINEL not in err


def test_a_template_that_repeats_a_large_key_is_refused_past_1_mib_naming_the_variable(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    # 64 placeholders of a 64 KiB key make 4 MiB: a 1 MiB line of them would take 6 GiB of memory.
    create_secret("calitho-suite/large", {"big": SENTINEL + "x" * 65_000})
    write(project / ".env", "AWS_SECRET_DB=calitho-suite/large\nBLOB=" + "{{ DB.big }}" * 64 + "\n")
    result = cli("print", "--example", "none", env=prod_env)
    assert result.returncode == 78
    assert "BLOB (file:.env:2): the value grows past 1 MiB as its templates are filled" in result.stderr
    assert_no_leak(result)


def test_a_restart_ends_a_daemon_the_old_child_started_in_a_session_of_its_own(project: Path, tmp_path: Path) -> None:
    # setsid takes a process out of the child's group, so a restart's group SIGTERM and SIGKILL
    # never reached it: after each restart it kept running with the old values.
    old = f"{SENTINEL}{uuid.uuid4().hex}"
    write(project / ".env.development", f"TOKEN={old}\n")
    log = tmp_path / "log"
    script = 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo "daemon $!" >> "$LOG"; exec sleep 600'
    launched = subprocess.Popen(
        [*LAUNCH, "run", "--watch", "--watch-interval", "0.2", "--restart-grace", "1", "--", "sh", "-c", script],
        cwd=project, env=base_env(tmp_path, {"LOG": str(log)}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(lines(log)) == 1, 20)
        save(project / ".env.development", f"TOKEN={SENTINEL}-new\n")
        wait_for(lambda: len(lines(log)) == 2, 20)
        wait_for(lambda: processes_holding(old) == [], 5)
    finally:
        launched.send_signal(signal.SIGTERM)
        _, err = launched.communicate(timeout=20)
        for line in lines(log):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[1]), signal.SIGKILL)
    assert SENTINEL not in err


def test_versions_shows_a_stage_label_holding_control_characters_without_running_them(
    cli: Cli, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    # Anyone who may label a version chooses the text: an escape sequence (a window title, an OSC 52
    # clipboard write) went to the terminal as it is, and a newline forged a row of the table.
    create_secret("calitho-suite/labelled", {"A": SENTINEL})
    version = secretsmanager.put_secret_value(SecretId="calitho-suite/labelled", SecretString='{"A": "b"}')
    label = "\x1b]0;title\x07X\nFORGED"
    secretsmanager.update_secret_version_stage(
        SecretId="calitho-suite/labelled", VersionStage=label, MoveToVersionId=version["VersionId"]
    )
    result = cli("versions", "calitho-suite/labelled", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert len(result.stdout.splitlines()) == 3  # the header and two versions
    assert "\\x1b]0;title\\x07X\\nFORGED" in result.stdout
    assert_no_leak(result)


# Interpreters that run code a variable holds (LUA_INIT=os.execute(...), ERL_AFLAGS=-eval ...), and
# tools that run the command a variable names: missing from the list, they reached the child.
MORE_PROTECTED = ["LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "ERL_AFLAGS", "ERL_ZFLAGS", "ELIXIR_ERL_OPTIONS",
                  "BUN_OPTIONS", "DENO_CERT", "R_PROFILE_USER", "BOTO_CONFIG", "SVN_SSH", "CVS_RSH", "RSYNC_RSH",
                  "SUDO_EDITOR", "HGRCPATH"]  # fmt: skip


@pytest.mark.parametrize("channel", CHANNELS)
def test_more_names_that_run_code_or_commands_are_protected(
    cli: Cli,
    project: Path,
    tmp_path: Path,
    aws: str,
    create_secret: Create,
    ssm: Any,
    channel: str,
) -> None:
    env = production_env(aws, tmp_path)
    plant(channel, {name: planted(name) for name in MORE_PROTECTED}, project, create_secret, ssm)
    result = cli("run", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert [name for name in MORE_PROTECTED if child.get(as_set(channel, name), "").startswith(SENTINEL)] == []
    assert [name for name in MORE_PROTECTED if f"may not set {as_set(channel, name)}:" not in result.stderr] == []
    assert_no_leak_on_stderr(result)


def test_rolling_back_a_secret_an_aws_service_manages_warns_that_the_database_is_not_rolled_back(
    cli: Cli, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    # RDS's rotation changed the database's password too: moving the label back alone gives every
    # process started after it a password the database refuses, with exit 0 and no word.
    managed = "rds!db-0c3f5d1e-7a2b-4c8d-9e6f-1a2b3c4d5e6f"
    create_secret(managed, {"username": "app", "password": f"{SENTINEL}-old"})
    secretsmanager.put_secret_value(SecretId=managed, SecretString=f'{{"username": "app", "password": "{SENTINEL}"}}')
    result = cli("rollback", managed, env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert f"{managed} is managed by an AWS service" in result.stderr
    assert "not rolled back" in result.stderr
    assert_no_leak(result)
