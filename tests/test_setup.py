"""`setup`: create or update the secrets; idempotent; edits .env atomically with a backup."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect

from tests.harness import Cli, assert_no_leak, aws_env, write

DB = "postgresql://app:setup-db-value@db/app"
ENV = (
    "# Calitho Suite\r\n"  # CRLF on purpose: the edit keeps the file's bytes and its line endings
    "APP_NAME=calitho   # a comment that must survive\r\n"
    f"DATABASE_URL={DB}\r\n"
    "NEXTAUTH_SECRET='setup-nextauth-value'\r\n"
    "\r\n"
    'REDIS_URL="redis://setup-redis-value:6379"\r\n'
    "TRAILING=1"
)
VALUES = ("setup-db-value", "setup-nextauth-value", "setup-redis-value")


def stored(secretsmanager: Any, name: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(
        secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
    )
    return value


def test_yes_creates_the_three_secrets_from_the_env_files_and_edits_env(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    env_file = write(project / ".env", ENV)
    env_file.chmod(0o640)
    result = cli("setup", "--yes", "--tag", "team=platform", "--tag", "env=prod", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": DB}
    assert stored(secretsmanager, "calitho-suite/nextauth") == {"NEXTAUTH_SECRET": "setup-nextauth-value"}
    assert stored(secretsmanager, "calitho-suite/redis") == {"REDIS_URL": "redis://setup-redis-value:6379"}
    described = secretsmanager.describe_secret(SecretId="calitho-suite/database")
    assert described["Description"] == "Calitho Suite database connection"
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"team": "platform", "env": "prod"}
    assert "calitho-suite/database: created" in result.stderr
    assert_no_leak(result, VALUES)

    edited = env_file.read_bytes().decode()
    assert edited == (  # no value left in .env, none in a comment
        "# Calitho Suite\r\n"
        "APP_NAME=calitho   # a comment that must survive\r\n"
        "\r\n"
        "TRAILING=1\r\n"
        "# AWS Secrets Manager (calitho-env setup)\r\n"
        "AWS_SECRET_DATABASE=calitho-suite/database\r\n"
        "AWS_SECRET_NEXTAUTH=calitho-suite/nextauth\r\n"
        "AWS_SECRET_REDIS=calitho-suite/redis\r\n"
    )
    assert (project / ".env.development").read_bytes().decode() == (  # development keeps its values
        "# moved from .env by calitho-env setup: production reads these from Secrets Manager\r\n"
        f"DATABASE_URL={DB}\r\n"
        "NEXTAUTH_SECRET='setup-nextauth-value'\r\n"
        'REDIS_URL="redis://setup-redis-value:6379"\r\n'
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    assert stat.S_IMODE((project / ".env.development").stat().st_mode) == 0o640
    assert (project / ".env.bak").read_bytes().decode() == ENV
    assert stat.S_IMODE((project / ".env.bak").stat().st_mode) == 0o600
    development = json.loads(cli("print", "--format", "json", env=aws_env(aws, tmp_path)).stdout)
    assert development["DATABASE_URL"] == DB

    production = aws_env(aws, tmp_path, NODE_ENV="production")
    printed = json.loads(cli("print", "--format", "json", env=production).stdout)
    assert printed["DATABASE_URL"] == DB


def test_a_second_run_changes_nothing_and_says_so(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env", ENV)
    assert cli("setup", "--yes", env=aws_env(aws, tmp_path)).returncode == 0
    before = (project / ".env").read_bytes()

    def versions() -> list[tuple[str, list[str]]]:
        listed = secretsmanager.list_secret_version_ids(SecretId="calitho-suite/redis")["Versions"]
        return [(v["VersionId"], v["VersionStages"]) for v in listed]

    before_versions = versions()
    result = cli("setup", "--yes", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.output()
    assert "nothing changed" in result.stderr
    assert "already maps these secrets" in result.stderr
    assert (project / ".env").read_bytes() == before
    assert versions() == before_versions


def test_a_different_value_is_kept_without_overwrite_and_replaced_with_it(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any, create_secret: Callable[[str, object], str]
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://already-there", "POOL": "5"})
    write(project / ".env", ENV)
    kept = cli("setup", "--yes", "--no-edit", env=aws_env(aws, tmp_path))
    assert kept.returncode == 1
    assert "calitho-suite/database: kept (holds a different value; not replaced)" in kept.stderr
    assert stored(secretsmanager, "calitho-suite/database")["DATABASE_URL"] == "postgres://already-there"
    replaced = cli("setup", "--yes", "--overwrite", "--no-edit", env=aws_env(aws, tmp_path))
    assert replaced.returncode == 0, replaced.output()
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": DB, "POOL": "5"}
    previous = secretsmanager.get_secret_value(SecretId="calitho-suite/database", VersionStage="AWSPREVIOUS")
    assert json.loads(previous["SecretString"])["DATABASE_URL"] == "postgres://already-there"
    assert (project / ".env").read_bytes().decode() == ENV
    assert_no_leak(replaced, VALUES)


def test_kms_key_and_generated_nextauth_secret(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env", ENV)
    result = cli(
        "setup",
        "--yes",
        "--no-edit",
        "--generate",
        "NEXTAUTH_SECRET",
        "--kms-key-id",
        "alias/calitho",
        env=aws_env(aws, tmp_path),
    )
    assert result.returncode == 0, result.output()
    generated = stored(secretsmanager, "calitho-suite/nextauth")["NEXTAUTH_SECRET"]
    assert len(generated) == 48
    assert generated != "setup-nextauth-value"
    assert generated not in result.output()
    assert secretsmanager.describe_secret(SecretId="calitho-suite/nextauth")["KmsKeyId"] == "alias/calitho"


def test_setup_without_a_terminal_and_without_yes_is_a_usage_error(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    result = cli("setup", env=aws_env(aws, tmp_path))
    assert result.returncode == 2
    assert "pass --yes" in result.stderr


def test_yes_without_values_in_env_files_creates_nothing_and_says_which(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", "DATABASE_URL=postgres://only-this\n")
    result = cli("setup", "--yes", env=aws_env(aws, tmp_path))
    assert result.returncode == 1
    assert "calitho-suite/redis: skipped (no value given, and the secret holds none)" in result.stderr
    assert "AWS_SECRET_REDIS" not in (project / ".env").read_text()
    assert "AWS_SECRET_DATABASE=calitho-suite/database" in (project / ".env").read_text()


def test_the_interactive_session_reads_values_hidden_in_a_terminal(
    project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env", "DATABASE_URL=postgres://default-from-env-file\n")
    session = pexpect.spawn(
        sys.executable,
        ["-m", "calitho_env", "setup", "--tag", "owner=ops"],
        cwd=str(project),
        env=aws_env(aws, tmp_path),
        encoding="utf-8",
        timeout=30,
    )
    transcript: list[str] = []
    session.logfile_read = _Recorder(transcript)
    session.expect_exact("Secret name for DATABASE_URL [calitho-suite/database]: ")
    session.sendline("")
    session.expect_exact("DATABASE_URL (input hidden; Enter takes the value from file:.env:1): ")
    session.sendline("")  # takes the env file's value
    session.expect_exact("Secret name for NEXTAUTH_SECRET [calitho-suite/nextauth]: ")
    session.sendline("team/nextauth")
    session.expect_exact("Generate a new NEXTAUTH_SECRET? [Y/n]: ")
    session.sendline("y")
    session.expect_exact("Secret name for REDIS_URL [calitho-suite/redis]: ")
    session.sendline("")
    session.expect_exact("REDIS_URL (input hidden; Enter skips it): ")  # no value offered, no secret yet
    session.sendline("redis://typed-hidden-value:6379")
    session.expect_exact("Repeat REDIS_URL: ")  # hidden input is typed twice
    session.sendline("redis://typed-hidden-value:6379")
    session.expect_exact("move the development values to .env.development? [Y/n]: ")
    session.sendline("y")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0, "".join(transcript)
    assert "typed-hidden-value" not in "".join(transcript), "a hidden value was echoed"
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": "postgres://default-from-env-file"}
    assert stored(secretsmanager, "calitho-suite/redis") == {"REDIS_URL": "redis://typed-hidden-value:6379"}
    assert len(stored(secretsmanager, "team/nextauth")["NEXTAUTH_SECRET"]) == 48
    assert "AWS_SECRET_NEXTAUTH=team/nextauth" in (project / ".env").read_text()


class _Recorder:
    def __init__(self, transcript: list[str]) -> None:
        self.transcript = transcript

    def write(self, text: str) -> None:
        self.transcript.append(text)

    def flush(self) -> None:
        """Nothing buffered."""


def test_setup_without_credentials_says_so_with_the_fix(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", ENV)
    env = aws_env(aws, tmp_path)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = cli("setup", "--yes", env=env)
    assert result.returncode == 1
    assert "AWS call failed: NoCredentials" in result.stderr
    assert "aws sts get-caller-identity" in result.stderr
    assert_no_leak(result, VALUES)
    assert (project / ".env").read_bytes().decode() == ENV
