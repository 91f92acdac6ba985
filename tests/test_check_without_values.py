"""`check` calls it a problem when the app would start without values, each with its fix (exit 1)."""

from __future__ import annotations

from pathlib import Path

from tests.harness import SENTINEL, Cli, Launch, assert_no_leak, aws_env, write

MAPPINGS = (
    "AWS_SECRET_DATABASE=calitho-suite/database\n"
    "AWS_SECRET_NEXTAUTH=calitho-suite/nextauth\n"
    "AWS_SECRET_REDIS=calitho-suite/redis\n"
)


def check(cli: Cli, tmp_path: Path, *args: str) -> Launch:
    # No AWS is reachable: none of these reports may depend on it.
    return cli("check", *args, env=aws_env("http://127.0.0.1:9", tmp_path))


def test_development_with_only_the_mappings_in_env_is_a_problem(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", MAPPINGS)
    result = check(cli, tmp_path)
    assert result.returncode == 1, result.output()
    assert "none to fetch" not in result.stdout
    text = " ".join(result.stdout.split())
    assert "problem: development gets no values: its 3 mapped secret(s) are fetched only in production" in text
    assert "fix: put the development values in .env.development" in text
    assert "all is well" not in text


def test_development_with_its_values_in_env_development_is_well(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", MAPPINGS)
    write(project / ".env.development", f"DATABASE_URL=postgresql://localhost/{SENTINEL}\n")
    result = check(cli, tmp_path)
    assert result.returncode == 0, result.output()
    assert_no_leak(result)


def test_production_with_the_mappings_only_in_env_development_is_a_problem(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env.development", MAPPINGS + f"DATABASE_URL=postgresql://localhost/{SENTINEL}\n")
    result = check(cli, tmp_path, "--mode", "production")
    assert result.returncode == 1, result.output()
    text = " ".join(result.stdout.split())
    assert "problem: production fetches no secrets: the AWS_SECRET_* lines are in .env.development" in text
    assert "fix: move them to .env (every mode reads it) or .env.production" in text
    assert_no_leak(result)


def test_production_in_an_empty_folder_is_a_problem(cli: Cli, project: Path, tmp_path: Path) -> None:
    result = check(cli, tmp_path, "--mode", "production")
    assert result.returncode == 1, result.output()
    text = " ".join(result.stdout.split())
    assert "problem: production gets no values" in text
    assert "fix: run `calitho-env setup`" in text
