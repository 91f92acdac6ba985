"""Development and test modes: the env files under the process environment, no AWS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import DUMP_ENV, SENTINEL, Cli, Launch, assert_no_leak, base_env, write


def printed(result: Launch) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    values: dict[str, str] = json.loads(result.stdout)
    return values


def test_the_first_file_of_the_nextjs_cascade_that_defines_a_key_wins(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "A=env\nB=env\nC=env\nD=env\n")
    write(project / ".env.development", "A=mode\nB=mode\nC=mode\n")
    write(project / ".env.local", "A=local\nB=local\n")
    write(project / ".env.development.local", "A=mode-local\n")
    values = printed(cli("print", "--format", "json", env=base_env(tmp_path)))
    assert values == {"A": "mode-local", "B": "local", "C": "mode", "D": "env"}


def test_test_mode_skips_env_local(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "A=env\n")
    write(project / ".env.local", "A=local\n")
    write(project / ".env.test", "B=test\n")
    values = printed(cli("print", "--format", "json", "--mode", "test", env=base_env(tmp_path)))
    assert values == {"A": "env", "B": "test"}


def test_the_process_environment_wins_over_env_files(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "DATABASE_URL=postgres://file\n")
    result = cli("run", "--", *DUMP_ENV, env=base_env(tmp_path, {"DATABASE_URL": "postgres://process"}))
    assert result.child_env()["DATABASE_URL"] == "postgres://process"


def test_dir_names_the_folder_of_the_cascade(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / ".env", "WHERE=elsewhere\n")
    values = printed(cli("print", "--format", "json", "--dir", str(tmp_path / "elsewhere"), env=base_env(tmp_path)))
    assert values == {"WHERE": "elsewhere"}


def test_env_file_replaces_the_cascade_and_a_later_file_overrides(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "FROM_CASCADE=yes\n")
    first = write(tmp_path / "first.env", "A=first\nB=first\n")
    second = write(tmp_path / "second.env", "B=second\n")
    values = printed(
        cli("print", "--format", "json", "--env-file", str(first), "--env-file", str(second), env=base_env(tmp_path))
    )
    assert values == {"A": "first", "B": "second"}


def test_a_named_env_file_that_does_not_exist_is_a_configuration_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("print", "--env-file", str(tmp_path / "missing.env"), env=base_env(tmp_path))
    assert result.returncode == 78
    assert "missing.env does not exist" in result.stderr


def test_missing_cascade_files_are_fine(cli: Cli, tmp_path: Path) -> None:
    result = cli("print", "--format", "json", env=base_env(tmp_path))
    assert printed(result) == {}


def test_interpolation_sees_the_environment_and_higher_priority_files(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "URL=postgres://${DB_USER}@${HOST:-localhost}/${DB}\nDB=app\n")
    write(project / ".env.local", "DB_USER=alice\n")
    values = printed(cli("print", "--format", "json", "URL", env=base_env(tmp_path, {"DB": "fromenv"})))
    assert values == {"URL": "postgres://alice@localhost/fromenv"}


def test_an_unparsable_line_warns_with_file_and_line_and_the_rest_loads(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", f"GOOD=1\nthis is not a binding {SENTINEL}\nALSO_GOOD=2\n")
    result = cli("print", "--format", "json", env=base_env(tmp_path))
    assert printed(result) == {"GOOD": "1", "ALSO_GOOD": "2"}
    assert ".env:2: python-dotenv cannot parse this line" in result.stderr
    assert_no_leak(result)


def test_quiet_hides_warnings(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "GOOD=1\nnot a binding\n")
    result = cli("print", "-q", env=base_env(tmp_path))
    assert result.returncode == 0
    assert result.stderr == ""


def test_an_invalid_variable_name_in_an_env_file_is_a_configuration_error(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", f"OK=1\nBAD-NAME={SENTINEL}\n")
    result = cli("run", "--", "true", env=base_env(tmp_path))
    assert result.returncode == 78
    assert ".env:2: not a variable name: it contains '-'" in result.stderr
    assert_no_leak(result)


@pytest.mark.parametrize(
    ("variable", "value", "origin"),
    [("NODE_ENV", "staging", "NODE_ENV"), ("CALITHO_ENV_MODE", "prod", "CALITHO_ENV_MODE")],
)
def test_an_unknown_mode_is_a_configuration_error_naming_its_variable(
    cli: Cli, tmp_path: Path, variable: str, value: str, origin: str
) -> None:
    result = cli("print", env=base_env(tmp_path, {variable: value}))
    assert result.returncode == 78
    assert f"{origin} is {value!r}, which is not a mode" in result.stderr


def test_mode_flag_beats_calitho_env_mode_which_beats_node_env(cli: Cli, project: Path, tmp_path: Path) -> None:
    for mode in ("development", "production", "test"):
        write(project / f".env.{mode}", f"WHICH={mode}\n")
    env = base_env(tmp_path, {"NODE_ENV": "production", "CALITHO_ENV_MODE": "test"})
    assert printed(cli("print", "--format", "json", env=env)) == {"WHICH": "test"}
    assert printed(cli("print", "--format", "json", "--mode", "development", env=env)) == {"WHICH": "development"}
    del env["CALITHO_ENV_MODE"]
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    result = cli("print", "-v", "--format", "json", "--timeout", "1", env=env)
    assert printed(result) == {"WHICH": "production"}
    assert "mode: production (from NODE_ENV)" in result.stderr


def test_verbose_says_the_mode_and_why_and_the_files_read(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "A=1\n")
    result = cli("print", "-v", env=base_env(tmp_path))
    assert "mode: development (default" in result.stderr
    assert "read .env" in result.stderr
    assert "variables: 1 from file" in result.stderr


def test_development_mode_loads_no_aws_code_and_not_the_file_writing_half_of_python_dotenv(
    project: Path, tmp_path: Path
) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL=postgres://dev\n")
    code = (
        "import sys\n"
        "from calitho_env.cli import main\n"
        "try:\n"
        "    main(['print', '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "unwanted = ('boto3', 'botocore', 'dotenv', 'calitho_env.aws', 'calitho_env.core.fetched', 'traceback')\n"
        "loaded = sorted(m for m in sys.modules if m in unwanted or m.split('.')[0] in unwanted)\n"
        "print(loaded, file=sys.stderr)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=base_env(tmp_path), capture_output=True, text=True, check=True
    )
    assert completed.stderr.strip().splitlines()[-1] == "[]"
    assert json.loads(completed.stdout) == {
        "AWS_SECRET_DATABASE": "calitho-suite/database",
        "DATABASE_URL": "postgres://dev",
    }


def test_required_variables_missing_or_empty_exit_78_with_their_names(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "EMPTY=\nSET=1\n")
    result = cli(
        "run",
        "--require",
        "SET",
        "--require",
        "EMPTY",
        "--",
        "true",
        env=base_env(tmp_path, {"CALITHO_ENV_REQUIRE": "ABSENT"}),
    )
    assert result.returncode == 78
    assert "EMPTY, ABSENT" in result.stderr
    assert "Traceback" not in result.stderr
