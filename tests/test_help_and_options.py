"""What --help shows, and options that refuse what makes no sense, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import Cli, base_env, write


def help_of(cli: Cli, tmp_path: Path, *command: str) -> str:
    result = cli(*command, "--help", env=base_env(tmp_path))
    assert result.returncode == 0, result.output()
    return result.stdout


def test_run_help_shows_the_double_dash_in_its_usage(cli: Cli, tmp_path: Path) -> None:
    assert help_of(cli, tmp_path, "run").startswith("Usage: calitho-env run [OPTIONS] -- COMMAND [ARGS]...\n")


def test_run_help_groups_its_options_and_ends_with_examples(cli: Cli, tmp_path: Path) -> None:
    text = help_of(cli, tmp_path, "run")
    headings = [line for line in text.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert headings == [
        "Where values come from:",
        "Which names:",
        "AWS:",
        "When a secret cannot be fetched:",
        "Watch and restart:",
        "Output:",
        "Examples:",
    ]
    watch = text.split("Watch and restart:")[1].split("Output:")[0]
    assert "--watch-interval" in watch
    assert "--restart-grace" in watch
    assert "--region " in text.split("AWS:")[1].split("When a secret")[0]
    examples = text.split("Examples:\n")[1].splitlines()
    assert 2 <= len(examples) <= 3
    assert all(line.startswith("  calitho-env run ") and " -- " in line for line in examples)


def test_the_watch_interval_help_shows_one_percent_sign(cli: Cli, tmp_path: Path) -> None:
    text = " ".join(help_of(cli, tmp_path, "run").split())
    assert "with 10 % jitter" in text
    assert "%%" not in text


@pytest.mark.parametrize("command", ["check", "setup", "rotate", "iam-policy", "versions", "rollback"])
def test_a_command_where_verbose_adds_nothing_does_not_offer_it(cli: Cli, tmp_path: Path, command: str) -> None:
    text = help_of(cli, tmp_path, command)
    assert "--verbose" not in text
    assert "adds nothing" not in text.lower()


def test_bare_calitho_env_prints_the_help_without_an_error(cli: Cli, tmp_path: Path) -> None:
    result = cli(env=base_env(tmp_path))
    assert result.stdout.startswith("Usage: calitho-env [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in result.stdout
    assert "error" not in result.stderr


def test_rotate_names_its_secret_argument_one_way(cli: Cli, tmp_path: Path) -> None:
    text = help_of(cli, tmp_path, "rotate")
    assert "SECRET_ID" in text
    assert "SECRET-ID" not in text


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf"])
@pytest.mark.parametrize("option", ["--watch-interval", "--restart-grace", "--restart-spread", "--timeout"])
def test_seconds_must_be_a_finite_number(cli: Cli, project: Path, tmp_path: Path, option: str, value: str) -> None:
    marker = project / "started"
    result = cli("run", "--watch", option, value, "--", "touch", str(marker), env=base_env(tmp_path))
    assert result.returncode == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert not marker.exists()


def test_iam_policy_reads_the_production_mapping_without_being_told(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env.production", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("iam-policy", "--account", "123456789012", env=base_env(tmp_path, {"AWS_REGION": "us-west-1"}))
    assert result.returncode == 0, result.output()
    (statement,) = json.loads(result.stdout)["Statement"]
    assert statement["Resource"] == [
        "arn:aws:secretsmanager:us-west-1:123456789012:secret:calitho-suite/database-??????"
    ]
