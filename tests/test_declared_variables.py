"""The app's declared variables (.env.example, the dotenv-safe convention), through the real CLI and the API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, assert_no_leak_on_stderr, aws_env, write

# An example's values are samples or placeholders: they are never read, so never shown.
EXAMPLE = f"DATABASE_URL=postgresql://user:{SENTINEL}@localhost/app\nREDIS_URL=\nSENTRY_DSN\n"
MAPPING = "AWS_SECRET_DATABASE=calitho-suite/database\n"


def nothing_listening() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_production_start_that_lost_its_secret_exits_78_naming_each_declared_name_and_the_secret(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env.example", EXAMPLE)
    write(project / ".env", MAPPING + "REDIS_URL=\n")  # empty counts as set
    env = aws_env(nothing_listening(), tmp_path, NODE_ENV="production")
    result = cli("run", "--timeout", "3", "--", *DUMP_ENV, env=env)
    assert result.returncode == 78
    reason = "secret calitho-suite/database could not be fetched: EndpointConnectionError"
    assert f"declared in .env.example but not set: DATABASE_URL ({reason}), SENTRY_DSN ({reason})" in result.stderr
    assert "REDIS_URL" not in result.stderr.split("not set:")[1]
    assert_no_leak(result)
    switched_off = cli("run", "--timeout", "3", "--example", "none", "--", *DUMP_ENV, env=env)
    assert switched_off.returncode == 0, switched_off.stderr


def test_a_line_of_a_multi_line_sample_value_is_not_a_declared_name_and_never_echoed(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    body = "MIIBhunter2secret0x9f3c2a"  # a base64 line is also a valid name
    write(project / ".env.example", f"CERT=-----BEGIN CERTIFICATE-----\n{body}\n-----END\nPORT\n")
    result = cli("run", "--", *DUMP_ENV, env=aws_env(nothing_listening(), tmp_path))
    assert result.returncode == 78
    assert result.stderr.count("declared in .env.example but not set: CERT, PORT") == 1
    assert body not in result.stdout + result.stderr


def test_a_secrets_undeclared_keys_are_left_out_in_production_with_one_warning_and_files_are_not_filtered(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret(
        "calitho-suite/database",
        {"DATABASE_URL": "postgresql://prod", "STRAY": SENTINEL, "OTHER_STRAY": SENTINEL, "SHADOWED": SENTINEL},
    )
    write(project / ".env.example", "DATABASE_URL=\n")
    write(project / ".env", MAPPING + "FROM_FILE=kept\nSHADOWED=from-file\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production", FROM_PROCESS="kept")
    result = cli("run", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert child["DATABASE_URL"] == "postgresql://prod"
    assert "STRAY" not in child
    assert "OTHER_STRAY" not in child
    assert (child["FROM_FILE"], child["FROM_PROCESS"], child["SHADOWED"]) == ("kept", "kept", "from-file")
    warnings = [line for line in result.stderr.splitlines() if "left out" in line]
    assert warnings == [
        "calitho-env: warning: 3 key(s) of secrets left out, which .env.example does not declare: "
        "OTHER_STRAY, SHADOWED, STRAY"
    ]
    assert_no_leak_on_stderr(result)


def test_a_declared_protected_name_stays_protected(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "x", "NODE_OPTIONS": f"--require={SENTINEL}"})
    write(project / ".env.example", "DATABASE_URL=\nNODE_OPTIONS=\n")
    write(project / ".env", MAPPING)
    result = cli("run", "--", *DUMP_ENV, env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert result.returncode == 78
    assert "not set: NODE_OPTIONS (secret calitho-suite/database may not set it: a protected name)" in result.stderr
    assert_no_leak(result)


def test_example_file_by_flag_by_variable_and_a_named_file_that_is_missing(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / "declared.txt", "NEEDED=\n")
    env = aws_env(nothing_listening(), tmp_path)
    by_flag = cli("print", "--example", "declared.txt", env=env)
    assert by_flag.returncode == 78
    assert "declared in declared.txt but not set: NEEDED" in by_flag.stderr
    by_variable = cli("print", env={**env, "CALITHO_ENV_EXAMPLE": "declared.txt"})
    assert "declared in declared.txt but not set: NEEDED" in by_variable.stderr
    missing = cli("print", "--example", "nowhere.txt", env=env)
    assert missing.returncode == 78
    assert "example file nowhere.txt does not exist" in missing.stderr
    write(project / ".env", "NEEDED=yes\n")
    assert cli("print", "--example", "declared.txt", env=env).stdout == "NEEDED='yes'\n"


def test_in_development_a_declared_name_a_secret_would_set_is_missing_and_says_why(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env.example", "DATABASE_URL=\n")
    write(project / ".env", MAPPING)
    result = cli("run", "--", "true", env=aws_env(nothing_listening(), tmp_path))
    assert result.returncode == 78
    assert "DATABASE_URL (secrets are not fetched in development)" in result.stderr


def test_check_reports_declared_but_unset_and_undeclared_left_out(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "x", "STRAY": SENTINEL})
    write(project / ".env.example", "DATABASE_URL=\nSENTRY_DSN=\n")
    write(project / ".env", MAPPING)
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    text = cli("check", env=env)
    assert text.returncode == 1
    assert "declared:    .env.example: 1 unset" in text.stdout
    words = " ".join(text.stdout.split())  # the report wraps at 80 columns
    assert "problem: declared in .env.example but not set: SENTRY_DSN" in words
    assert "warning: 1 key(s) of secrets left out, which .env.example does not declare: STRAY" in words
    report = json.loads(cli("check", "--format", "json", env=env).stdout)
    assert (report["example"], report["declared_unset"], report["left_out"]) == (
        ".env.example",
        {"SENTRY_DSN": None},
        ["STRAY"],
    )
    assert_no_leak(text)


def test_print_leaves_out_an_undeclared_key_and_says_so(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgresql://prod", "STRAY": SENTINEL})
    write(project / ".env.example", "DATABASE_URL=\n")
    write(project / ".env", MAPPING)
    result = cli("print", "--format", "json", env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert json.loads(result.stdout) == {
        "AWS_SECRET_DATABASE": "calitho-suite/database",
        "DATABASE_URL": "postgresql://prod",
    }
    assert "which .env.example does not declare: STRAY" in result.stderr
    assert_no_leak(result)


def test_the_python_api_raises_the_same_error_with_exit_code_78(project: Path, tmp_path: Path) -> None:
    write(project / ".env.example", "DATABASE_URL=\nSENTRY_DSN=\n")
    write(project / ".env", "DATABASE_URL=postgresql://localhost/dev\n")
    code = (
        "import calitho_env as c\n"
        "try:\n"
        "    c.get_database_url()\n"
        "except c.MissingVariablesError as error:\n"
        "    print(error.exit_code, error.names, error.message)\n"
    )
    env = aws_env(nothing_listening(), tmp_path)
    result = subprocess.run([sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True)
    assert result.stdout == "78 ['SENTRY_DSN'] declared in .env.example but not set: SENTRY_DSN\n", result.stderr
