"""The operator commands as a new user meets them: setup, rotate, print, flags, help, errors."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.harness import SENTINEL, Cli, Create, assert_no_leak, aws_env, base_env, write

LAUNCH = ["-m", "calitho_env"]


def stored(secretsmanager: Any, name: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(
        secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
    )
    return value


def spawn(project: Path, env: dict[str, str], *args: str) -> pexpect.spawn[str]:
    return pexpect.spawn(sys.executable, [*LAUNCH, *args], cwd=str(project), env=env, encoding="utf-8", timeout=30)


# --- setup --------------------------------------------------------------------------------


def test_setup_takes_any_secret_and_its_keys(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env", f"STRIPE_KEY={SENTINEL}-stripe\nSTRIPE_WEBHOOK={SENTINEL}-hook\n")
    result = cli(
        "setup", "--yes", "--secret", "calitho-suite/stripe=STRIPE_KEY,STRIPE_WEBHOOK", env=aws_env(aws, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert stored(secretsmanager, "calitho-suite/stripe") == {
        "STRIPE_KEY": f"{SENTINEL}-stripe",
        "STRIPE_WEBHOOK": f"{SENTINEL}-hook",
    }
    assert "AWS_SECRET_STRIPE=calitho-suite/stripe" in (project / ".env").read_text()
    assert "STRIPE_KEY from file:.env:1" in result.stderr
    assert_no_leak(result)


def test_generate_for_a_key_in_no_secret_is_an_error(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    result = cli("setup", "--yes", "--generate", "NEXTAUTH_SECRTE", env=aws_env(aws, tmp_path))
    assert result.returncode == 2
    assert "NEXTAUTH_SECRTE is in no secret being set up" in result.stderr


def test_setup_offers_production_values_never_development_ones(
    cli: Cli, project: Path, tmp_path: Path, aws: str, secretsmanager: Any
) -> None:
    write(project / ".env.development", "DATABASE_URL=postgres://localhost/dev\n")
    write(project / ".env.production", "DATABASE_URL=postgres://db.internal/prod\n")
    result = cli("setup", "--yes", "--no-edit", "--secret", "calitho-suite/database=DATABASE_URL",
                 env=aws_env(aws, tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": "postgres://db.internal/prod"}
    assert "DATABASE_URL from file:.env.production:1" in result.stderr


def test_setup_in_another_region_writes_the_arn_so_run_reads_the_same_secret(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", "DATABASE_URL=postgres://east\n")
    env = aws_env(aws, tmp_path)
    result = cli("setup", "--yes", "--region", "us-east-1", "--secret", "calitho-suite/database=DATABASE_URL", env=env)
    assert result.returncode == 0, result.stderr
    mapping = next(line for line in (project / ".env").read_text().splitlines() if line.startswith("AWS_SECRET_"))
    assert mapping.startswith("AWS_SECRET_DATABASE=arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    printed = cli("print", "--mode", "production", "--format", "json", env=env)
    assert json.loads(printed.stdout)["DATABASE_URL"] == "postgres://east"  # env's region is us-west-1


def test_declining_an_overwrite_is_a_choice_and_ctrl_c_exits_130(
    project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://already"})
    write(project / ".env", "DATABASE_URL=postgres://new\n")
    env = aws_env(aws, tmp_path)
    session = spawn(project, env, "setup", "--no-edit", "--secret", "calitho-suite/database=DATABASE_URL")
    session.expect_exact("Secret name for DATABASE_URL [calitho-suite/database]: ")
    session.sendline("")
    session.expect_exact("DATABASE_URL (input hidden; Enter takes the value from file:.env:1): ")
    session.sendline("")
    session.expect_exact("calitho-suite/database holds a different DATABASE_URL. Replace it? [y/N]: ")
    session.sendline("n")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0
    assert "kept (you chose not to replace its value)" in (session.before or "")

    interrupted = spawn(project, env, "setup", "--secret", "calitho-suite/database=DATABASE_URL")
    interrupted.expect_exact("Secret name for DATABASE_URL [calitho-suite/database]: ")
    interrupted.sendcontrol("c")
    interrupted.expect(pexpect.EOF)
    interrupted.close()
    assert interrupted.exitstatus == 130
    assert "Traceback" not in (interrupted.before or "")


def test_enter_keeps_the_current_value_only_where_a_secret_exists(
    project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://kept"})
    both = ["--secret", "calitho-suite/database=DATABASE_URL", "--secret", "calitho-suite/redis=REDIS_URL"]
    session = spawn(project, aws_env(aws, tmp_path), "setup", "--no-edit", *both)
    session.expect_exact("Secret name for DATABASE_URL [calitho-suite/database]: ")
    session.sendline("")
    session.expect_exact("DATABASE_URL (input hidden; Enter keeps the secret's current value): ")
    session.sendline("")
    session.expect_exact("Secret name for REDIS_URL [calitho-suite/redis]: ")
    session.sendline("")
    session.expect_exact("REDIS_URL (input hidden; Enter skips it): ")
    session.sendline("redis://one")
    session.expect_exact("Repeat REDIS_URL: ")
    session.sendline("redis://two")  # a typo: asked again
    session.expect_exact("the two entries differ; once more")
    session.expect_exact("REDIS_URL (input hidden; Enter skips it): ")
    session.sendline("redis://two")
    session.expect_exact("Repeat REDIS_URL: ")
    session.sendline("redis://two")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0
    assert stored(secretsmanager, "calitho-suite/database") == {"DATABASE_URL": "postgres://kept"}
    assert stored(secretsmanager, "calitho-suite/redis") == {"REDIS_URL": "redis://two"}


# --- rotate -------------------------------------------------------------------------------


def test_rotate_stdin_on_a_terminal_asks_hidden_twice(
    project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": "old"})
    session = spawn(project, aws_env(aws, tmp_path), "rotate", "calitho-suite/nextauth", "NEXTAUTH_SECRET", "--stdin")
    session.expect_exact("New value for NEXTAUTH_SECRET (input hidden): ")
    session.sendline("typed-secret")
    session.expect_exact("Repeat NEXTAUTH_SECRET: ")
    session.sendline("typed-secret")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0
    assert "typed-secret" not in (session.before or "")
    assert stored(secretsmanager, "calitho-suite/nextauth") == {"NEXTAUTH_SECRET": "typed-secret"}


# --- check --------------------------------------------------------------------------------


def test_check_says_a_version_stage_does_not_exist(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/once", {"A": "1"})
    write(project / ".env", f"OLD_A={arn}:A:AWSPREVIOUS\n")
    result = cli("check", env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert result.returncode == 1
    said = " ".join(result.stdout.split())
    assert "has no version AWSPREVIOUS" in said
    assert "AWSPREVIOUS exists only once the value has changed" in said
    assert "verify the secret name" not in said


# --- flags, help, errors --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "print", "check", "iam-policy", "setup", "rotate"])
def test_region_profile_and_timeout_mean_the_same_on_every_aws_command(cli: Cli, tmp_path: Path, command: str) -> None:
    help_text = " ".join(cli(command, "--help", env=base_env(tmp_path)).stdout.split())
    for flag in ("--region", "--profile", "--timeout"):
        assert flag in help_text
    assert "default 10" in help_text


@pytest.mark.parametrize("flag", ["--no-fallback", "--preserve-env", "--require=A"])
def test_iam_policy_takes_no_flags_that_do_not_concern_it(cli: Cli, tmp_path: Path, flag: str) -> None:
    result = cli("iam-policy", flag, env=base_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("calitho-env: error: No such option")
    assert "calitho-env: hint: see `calitho-env iam-policy --help`" in result.stderr


def test_help_tells_the_truth_and_no_summary_is_cut(cli: Cli, tmp_path: Path) -> None:
    top = cli("--help", env=base_env(tmp_path)).stdout
    commands = top.split("Commands:")[1]
    assert "..." not in commands  # click cuts a summary it finds too long
    run_help = " ".join(cli("run", "--help", env=base_env(tmp_path)).stdout.split())
    assert "default: CALITHO_ENV_MODE, else NODE_ENV, else development" in run_help
    assert "the files looked for and read" in run_help  # what -v adds, per command
    check_help = " ".join(cli("check", "--help", env=base_env(tmp_path)).stdout.split())
    assert "--verbose" not in check_help  # -v adds nothing to check: its help does not offer it


def test_a_profile_chooses_credentials_and_region(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://via-profile"})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    credentials = write(tmp_path / "credentials", "[ops]\naws_access_key_id = ops\naws_secret_access_key = ops\n")
    config = write(tmp_path / "config", "[profile ops]\nregion = us-west-1\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production", AWS_CONFIG_FILE=str(config),
                  AWS_SHARED_CREDENTIALS_FILE=str(credentials))  # fmt: skip
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"]
    printed = cli("print", "--profile", "ops", "--format", "json", "--fallback", "none", env=env)
    assert json.loads(printed.stdout)["DATABASE_URL"] == "postgres://via-profile"
    check = cli("check", "--profile", "ops", env=env)
    assert "credentials: from profile" in check.stdout


def test_a_mode_that_is_not_one_says_how_to_choose_one(cli: Cli, tmp_path: Path) -> None:
    result = cli("print", env=base_env(tmp_path, {"NODE_ENV": "staging"}))
    assert result.returncode == 78
    said = " ".join(result.stderr.split())
    assert "--mode or CALITHO_ENV_MODE" in said
    assert "docs/production.md, Staging" in said


# --- print ----------------------------------------------------------------------------------


def docker_env_file(text: str) -> dict[str, str]:
    """What `docker run --env-file` reads (opts/file.go): each line left-trimmed of white space,
    empty and #-lines skipped, split at the first '=', the value taken as it is; a trailing CR dropped
    (Go's bufio.ScanLines). kubectl's --from-env-file reads the same way."""
    values = {}
    for raw in text.split("\n"):
        line = raw.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name] = value
    return values


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30))
def test_docker_format_reads_back_exactly_in_dockers_rules_or_is_refused(value: str) -> None:
    from calitho_env.core.bindings import PROCESS, Binding
    from calitho_env.core.formats import render
    from calitho_env.errors import ConfigurationError

    hint = None
    try:
        text = render([Binding("VALUE", value, PROCESS)], "docker", mask=False)
    except ConfigurationError as error:
        hint = error.hint or ""
    if hint is not None:
        assert "\n" in value or "\r" in value
        assert "--format json" in hint
    else:
        assert docker_env_file(text) == {"VALUE": value}


def test_docker_format_refuses_a_line_break_naming_the_variable(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", f"PEM=\"line one\\n{SENTINEL}\"\nPLAIN='a b #c'\n")
    result = cli("print", "--format", "docker", env=base_env(tmp_path))
    assert result.returncode == 78
    assert "the value of PEM holds a line break" in result.stderr
    assert_no_leak(result)
    plain = cli("print", "--format", "docker", "PLAIN", env=base_env(tmp_path))
    assert plain.stdout == "PLAIN=a b #c\n"


def test_output_file_is_written_atomically_0600_and_never_through_a_link(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", "A=1\n")
    victim = write(tmp_path / "victim", "precious\n")
    (project / "out.env").symlink_to(victim)
    result = cli("print", "-o", "out.env", env=base_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    written = project / "out.env"
    assert not written.is_symlink()
    assert written.read_text() == "A='1'\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_the_table_fits_80_columns_and_shows_mapping_ids(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": SENTINEL})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    table = cli("print", "--format", "table", env=env).stdout
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "AWS_SECRET_DATABASE  file:.env:1" in table
    assert table.splitlines()[1].endswith("calitho-suite/database")  # the id, which is no secret
    assert SENTINEL not in table
    wide = cli("print", "--format", "table", "--wide", env=env).stdout
    assert len(max(wide.splitlines(), key=len)) > len(max(table.splitlines(), key=len))


def test_verbose_names_the_files_looked_for_that_were_not_found(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "A=1\n")
    result = cli("print", "-v", env=base_env(tmp_path))
    assert "looked for .env.development.local: not found" in result.stderr
    assert "looked for .env.local: not found" in result.stderr
    assert "read .env" in result.stderr


def test_mask_masks_mapping_ids_in_the_table_too(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    table = cli("print", "--format", "table", "--mask", env=base_env(tmp_path)).stdout
    assert "calitho-suite/database" not in table
    assert "********" in table
