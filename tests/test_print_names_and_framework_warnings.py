"""Smaller holes: names `print` cannot carry, a secret's value in the table, public bundle names, NODE_ENV."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, aws_env, base_env, write

HOSTILE_NAMES = {"A\nINJECTED": "1", "Y$(touch M)": "2", "Z-DASH": "3"}


@pytest.mark.parametrize("format_name", ["dotenv", "shell", "docker"])
def test_print_all_leaves_out_names_that_are_not_identifiers_with_one_warning_that_does_not_echo_them(
    cli: Cli, project: Path, tmp_path: Path, format_name: str
) -> None:
    result = cli("print", "--all", "--format", format_name, env=base_env(tmp_path, {**HOSTILE_NAMES, "KEPT": "ok"}))
    assert result.returncode == 0, result.stderr
    assert "INJECTED" not in result.stdout
    assert "touch" not in result.stdout
    assert "Z-DASH" not in result.stdout
    assert "KEPT" in result.stdout
    assert result.stderr.count("3 inherited variable(s) left out") == 1
    assert "INJECTED" not in result.stderr
    assert "touch" not in result.stderr
    if format_name == "dotenv":
        assert "INJECTED" not in dotenv_values(stream=io.StringIO(result.stdout), interpolate=False)


def test_print_all_in_shell_format_is_safe_to_eval_and_json_keeps_every_name(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    result = cli("print", "--all", "--format", "shell", env=base_env(tmp_path, HOSTILE_NAMES))
    subprocess.run(["sh", "-c", result.stdout], cwd=tmp_path, check=False, capture_output=True)
    assert not (tmp_path / "M").exists()
    as_json = cli("print", "--all", "--format", "json", env=base_env(tmp_path, HOSTILE_NAMES))
    assert set(HOSTILE_NAMES) <= set(json.loads(as_json.stdout))
    assert "left out" not in as_json.stderr


def test_the_table_masks_a_secrets_keys_that_look_like_mappings_and_shows_a_mappings_id(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/app", {"AWS_SECRET_ACCESS_TOKEN_X": SENTINEL, "AWS_SSM_PATH_Y": SENTINEL})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    result = cli("print", "--format", "table", env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert result.returncode == 0, result.stderr
    assert "calitho-suite/app" in result.stdout  # the mapping read from .env shows its secret id
    assert result.stdout.count("********") == 2
    assert_no_leak(result)


def test_a_secrets_value_under_a_public_bundle_prefix_is_warned_about(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/app", {"NEXT_PUBLIC_API_KEY": SENTINEL, "VITE_TOKEN": SENTINEL, "API_KEY": "x"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\nNEXT_PUBLIC_SITE=https://example.com\n")
    result = cli("run", "--", *DUMP_ENV, env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert result.child_env()["NEXT_PUBLIC_API_KEY"] == SENTINEL  # passed on: the app may mean it
    warnings = [line for line in result.stderr.splitlines() if "browser bundle" in line]
    assert len(warnings) == 1
    # API_KEY is server-only; an env file's NEXT_PUBLIC_SITE is the app's own public value
    assert warnings[0].startswith("calitho-env: warning: NEXT_PUBLIC_API_KEY, VITE_TOKEN: a secret's value")
    assert SENTINEL not in result.stderr


def test_node_env_in_an_env_file_is_passed_on_with_one_warning_that_it_did_not_choose_the_mode(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", "NODE_ENV=production\nAPP=1\n")
    result = cli("run", "--", *DUMP_ENV, env=base_env(tmp_path))
    assert result.child_env()["NODE_ENV"] == "production"
    assert result.stderr.count("NODE_ENV from file:.env:1 is passed on to the child but does not choose") == 1
    assert "development (default" in result.stderr
    same = cli("run", "--", *DUMP_ENV, env=base_env(tmp_path, {"CALITHO_ENV_MODE": "production"}))
    assert "NODE_ENV" not in same.stderr  # it says what the mode is anyway: nothing to tell
