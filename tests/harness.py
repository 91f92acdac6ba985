"""How the tests drive the real CLI: a subprocess, a clean environment, and leak checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REGION = "us-west-1"

# Planted in every secret and env-file value of the failure tests; must never be printed.
SENTINEL = "SENTINEL-9f3c2a"

# A child that prints its whole environment as JSON, so a test sees exactly what `run` gave it.
DUMP_ENV = [sys.executable, "-c", "import json, os, sys; json.dump(dict(os.environ), sys.stdout)"]


@dataclass
class Launch:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def child_env(self) -> dict[str, str]:
        assert self.returncode == 0, self.stderr
        loaded: dict[str, str] = json.loads(self.stdout)
        return loaded

    def output(self) -> str:
        return self.stdout + self.stderr


Cli = Callable[..., Launch]  # the `cli` fixture: run the real CLI in the project folder
Create = Callable[[str, object], str]  # the `create_secret` fixture: returns the secret's ARN


def base_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment: nothing inherited from the developer's AWS set-up."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.update(extra or {})
    return env


def production_env(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    """Production against the stand-in at `endpoint`, for Secrets Manager, STS and Parameter Store."""
    return aws_env(endpoint, home, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=endpoint, **extra)


def aws_env(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment whose Secrets Manager and STS are the stand-in at `endpoint`."""
    return base_env(
        home,
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
            "AWS_ENDPOINT_URL_STS": endpoint,
            **extra,
        },
    )


def launch(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 60,
    stdin: str | None = None,
) -> Launch:
    import time

    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "calitho_env", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    return Launch(completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started)


def assert_no_leak(result: Launch, secrets: Iterable[str] = (SENTINEL,), debug: bool = False) -> None:
    """No secret value in stdout or stderr, and no traceback unless --debug was given."""
    secrets = list(secrets)
    for secret in secrets:
        assert secret not in result.stdout, f"secret value leaked to stdout: {result.stdout!r}"
    assert_no_leak_on_stderr(result, secrets, debug)


def assert_no_leak_on_stderr(result: Launch, secrets: Iterable[str] = (SENTINEL,), debug: bool = False) -> None:
    """The same for stderr alone: for launches whose stdout is the child's, which holds the values on purpose."""
    for secret in secrets:
        assert secret not in result.stderr, f"secret value leaked to stderr: {result.stderr!r}"
    if not debug:
        assert "Traceback" not in result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pid_namespace() -> tuple[list[str], str]:
    """The command prefix that runs a program as PID 1 of a new PID namespace, or [] and why not.

    Root uses `unshare --pid --fork`; anyone else a user namespace mapped to root, where the kernel allows it.
    """
    import shutil

    if shutil.which("unshare") is None:
        return [], "unshare is not installed"
    prefix = (
        ["unshare", "--pid", "--fork"]
        if os.geteuid() == 0
        else ["unshare", "--user", "--map-root-user", "--pid", "--fork"]
    )
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return [], f"the kernel refuses a PID namespace here: {probe.stderr.strip()[:100]}"
    return prefix, ""


def wait_for(condition: Callable[[], bool], seconds: float = 15) -> None:
    """Poll `condition` until it holds; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def lines(path: Path) -> list[str]:
    """The lines a child has logged so far (none before the file exists)."""
    return path.read_text().splitlines() if path.exists() else []
