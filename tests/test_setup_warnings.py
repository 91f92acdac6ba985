"""`setup` says where each value came from, and warns (key and file, never the value) before storing one
that looks like development's: a loopback or localhost host, or a file development reads too."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.harness import SENTINEL, Cli, assert_no_leak, aws_env, write

DATABASE = ["--secret", "calitho-suite/database=DATABASE_URL", "--no-edit"]


def stored(secretsmanager: Any, name: str) -> dict[str, str]:
    answer = secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    value: dict[str, str] = json.loads(answer["SecretString"])
    return value


def test_a_value_typed_at_the_prompt_is_reported_as_typed(
    project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env.production", f"DATABASE_URL=postgresql://offered-{SENTINEL}@db.internal/app\n")
    env = aws_env(aws, tmp_path)
    session = pexpect.spawn(
        sys.executable,
        ["-m", "calitho_env", "setup", *DATABASE],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    session.expect_exact("Secret name for DATABASE_URL [calitho-suite/database]: ")
    session.sendline("")
    session.expect_exact("Enter takes the value from file:.env.production:1): ")
    session.sendline("postgresql://typed@db.internal/app")
    session.expect_exact("Repeat DATABASE_URL: ")
    session.sendline("postgresql://typed@db.internal/app")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0
    transcript = session.before or ""
    assert "calitho-suite/database: created" in transcript
    assert "DATABASE_URL typed" in transcript
    assert "from file:" not in transcript.split("calitho-suite/database: created")[1]
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": "postgresql://typed@db.internal/app"}
    assert SENTINEL not in transcript


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:{s}@localhost:5432/app",
        "postgresql://app:{s}@127.0.0.1/app",
        "postgresql://app:{s}@127.8.9.10/app",
        "postgresql://app:{s}@[::1]:5432/app",
        "redis://:{s}@0.0.0.0:6379",
        "http://api.localhost/{s}",
    ],
)
def test_a_production_value_pointing_at_this_machine_is_warned_about_by_key_and_file(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any, url: str
) -> None:
    write(project / ".env.production", f"DATABASE_URL={url.format(s=SENTINEL)}\n")
    result = cli("setup", "--yes", *DATABASE, env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("calitho-env: warning:")]
    assert len(warnings) == 1, result.stderr
    assert "DATABASE_URL for calitho-suite/database (from file:.env.production:1) points at this machine" in warnings[0]
    assert result.stderr.index("points at this machine") < result.stderr.index("calitho-suite/database: created")
    assert_no_leak(result, [SENTINEL, url.format(s=SENTINEL)])


def test_a_production_host_is_not_warned_about(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env.production", f"DATABASE_URL=postgresql://app:{SENTINEL}@db.internal/app\n")
    result = cli("setup", "--yes", *DATABASE, env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert "warning" not in result.stderr


def test_setup_yes_still_takes_development_values_from_env_but_warns_first(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env", f"DATABASE_URL=postgresql://app:{SENTINEL}@localhost/dev\n")
    result = cli("setup", "--yes", "--secret", "calitho-suite/database=DATABASE_URL", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert stored(secretsmanager, "calitho-suite/database") == {
        "DATABASE_URL": f"postgresql://app:{SENTINEL}@localhost/dev"
    }
    text = " ".join(result.stderr.split())
    assert "DATABASE_URL for calitho-suite/database (from file:.env:1) points at this machine" in text
    assert "DATABASE_URL for calitho-suite/database comes from .env, which development reads too" in text
    assert text.index("which development reads too") < text.index("calitho-suite/database: created")
    assert_no_leak(result)
