"""Production: secrets from a real moto server over HTTP, their priority and fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, assert_no_leak_on_stderr, write


@pytest.fixture
def seed_secrets(create_secret: Create) -> dict[str, str]:
    """Calitho Suite's three secrets, one JSON object each."""
    values = {
        "DATABASE_URL": f"postgresql://user:{SENTINEL}-db@prod/db",
        "NEXTAUTH_SECRET": f"{SENTINEL}-nextauth",
        "REDIS_URL": f"redis://:{SENTINEL}-redis@prod:6379",
    }
    create_secret("calitho-suite/database", {"DATABASE_URL": values["DATABASE_URL"]})
    create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": values["NEXTAUTH_SECRET"]})
    create_secret("calitho-suite/redis", {"REDIS_URL": values["REDIS_URL"]})
    return values


SEED_ENV = (
    "AWS_SECRET_DATABASE=calitho-suite/database\n"
    "AWS_SECRET_NEXTAUTH=calitho-suite/nextauth\n"
    "AWS_SECRET_REDIS=calitho-suite/redis\n"
    "DATABASE_URL=postgresql://localhost/dev\n"
    "NEXTAUTH_SECRET=dev-secret\n"
    "REDIS_URL=redis://localhost:6379\n"
)


def test_production_secrets_override_env_files_and_the_environment(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    write(project / ".env", SEED_ENV)
    prod_env["REDIS_URL"] = "redis://from-process"
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    for name, value in seed_secrets.items():
        assert child[name] == value


def test_preserve_env_lets_the_environment_win_over_secrets_and_secrets_over_files(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    write(project / ".env", SEED_ENV)
    prod_env["REDIS_URL"] = "redis://from-process"
    child = cli("run", "--preserve-env", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["REDIS_URL"] == "redis://from-process"
    assert child["DATABASE_URL"] == seed_secrets["DATABASE_URL"]


def test_mappings_may_come_from_the_process_environment(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    prod_env["AWS_SECRET_NEXTAUTH"] = "calitho-suite/nextauth"
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["NEXTAUTH_SECRET"] == seed_secrets["NEXTAUTH_SECRET"]


def test_a_missing_secret_falls_back_with_one_warning_naming_it_the_code_and_the_fix(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    write(project / ".env", SEED_ENV + "AWS_SECRET_EXTRA=calitho-suite/does-not-exist\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    child = result.child_env()
    assert child["DATABASE_URL"] == seed_secrets["DATABASE_URL"]
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "calitho-suite/does-not-exist" in warnings[0]
    assert "ResourceNotFoundException" in warnings[0]
    assert "verify the secret name matches exactly" in result.stderr
    assert_no_leak_on_stderr(result)


def test_fallback_keeps_the_env_file_values(cli: Cli, project: Path, prod_env: dict[str, str]) -> None:
    write(project / ".env", SEED_ENV)
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["DATABASE_URL"] == "postgresql://localhost/dev"


@pytest.mark.parametrize("switch", [["--no-fallback"], []])
def test_without_fallback_a_secret_that_cannot_be_fetched_exits_69(
    cli: Cli, project: Path, prod_env: dict[str, str], switch: list[str]
) -> None:
    write(project / ".env", SEED_ENV.replace("dev-secret", SENTINEL))
    if not switch:
        prod_env["CALITHO_ENV_FALLBACK"] = "0"
    result = cli("run", *switch, "--", *DUMP_ENV, env=prod_env)
    assert result.returncode == 69
    assert "calitho-suite/database" in result.stderr
    assert "ResourceNotFoundException" in result.stderr
    assert_no_leak(result)


def test_a_mapping_by_arn_uses_the_arns_region(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/by-arn", {"BY_ARN": "yes"})
    prod_env["AWS_REGION"] = "eu-central-1"
    write(project / ".env", f"AWS_SECRET_BY_ARN={arn}\n")
    assert cli("run", "--", *DUMP_ENV, env=prod_env).child_env()["BY_ARN"] == "yes"


def test_json_values_become_strings_numbers_as_their_text_and_null_is_skipped(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    create_secret(
        "typed",
        '{"S": "text", "N": 1.50, "I": 3, "T": true, "F": false, "Z": null, "O": {"a": [1, 2.5]}, "A": ["x", 1]}',
    )
    write(project / ".env", "AWS_SECRET_TYPED=typed\nZ=from-file\n")
    result = cli("print", "--format", "json", env=prod_env)
    values = json.loads(result.stdout)
    assert {k: values[k] for k in "SNITFOAZ"} == {
        "S": "text",
        "N": "1.50",
        "I": "3",
        "T": "true",
        "F": "false",
        "O": '{"a":[1,2.5]}',
        "A": '["x",1]',
        "Z": "from-file",
    }


@pytest.mark.parametrize(
    ("secret_string", "expected"),
    [
        (f"not json {SENTINEL}", "is a plain string, not a JSON object"),
        (f'["{SENTINEL}"]', "is a JSON array, not a JSON object"),
        (f'"{SENTINEL}"', "is a JSON string, not a JSON object"),
        (f'{{"BAD-KEY": "{SENTINEL}"}}', "secret wrong: the key 'BAD-KEY' is not a variable name"),
        (f'{{"NUL": "{SENTINEL}\\u0000"}}', "the value of NUL contains a NUL character"),
    ],
)
def test_a_secret_of_the_wrong_shape_is_a_configuration_error_even_with_fallback(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create, secret_string: str, expected: str
) -> None:
    create_secret("wrong", secret_string)
    write(project / ".env", "AWS_SECRET_WRONG=wrong\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert result.returncode == 78
    assert expected in result.stderr
    assert "secret wrong" in result.stderr
    assert_no_leak(result)


def test_a_binary_secret_is_a_configuration_error(
    cli: Cli, project: Path, prod_env: dict[str, str], secretsmanager: Any
) -> None:
    secretsmanager.create_secret(Name="binary", SecretBinary=SENTINEL.encode())
    write(project / ".env", "AWS_SECRET_BINARY=binary\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert result.returncode == 78
    assert "secret binary is binary (SecretBinary)" in result.stderr
    assert_no_leak(result)


def test_secrets_may_not_set_path_home_or_loader_variables(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    create_secret(
        "hostile", {"PATH": "/evil", "LD_PRELOAD": "/evil.so", "HOME": "/evil", "BASH_FUNC_x%%": "() {}", "OK": "fine"}
    )
    write(project / ".env", "AWS_SECRET_HOSTILE=hostile\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert result.returncode == 78  # BASH_FUNC_x%% is not a valid name at all
    create_secret("hostile2", {"PATH": "/evil", "LD_PRELOAD": "/evil.so", "HOME": "/evil", "OK": "fine"})
    write(project / ".env", "AWS_SECRET_HOSTILE=hostile2\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    child = result.child_env()
    assert child["OK"] == "fine"
    assert child["PATH"] == prod_env["PATH"]
    assert "LD_PRELOAD" not in child
    assert child["HOME"] == prod_env["HOME"]
    assert result.stderr.count("may not set") == 3


def test_provenance_names_the_secret_and_its_version(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str], secretsmanager: Any
) -> None:
    write(project / ".env", SEED_ENV + "PLAIN=1\n")
    version = secretsmanager.describe_secret(SecretId="calitho-suite/redis")["VersionIdsToStages"]
    table = cli("print", "--format", "table", "--wide", env=prod_env).stdout
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[1:]}
    assert rows["REDIS_URL"] == f"aws:calitho-suite/redis@{next(iter(version))}"
    assert rows["PLAIN"] == "file:.env:7"
    assert SENTINEL not in table


def test_verbose_lists_each_secret_with_its_latency_and_counts_per_source(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    write(project / ".env", SEED_ENV)
    result = cli("print", "-v", env=prod_env)
    for name in ("database", "nextauth", "redis"):
        assert f"fetched aws:calitho-suite/{name}@" in result.stderr
    assert " ms" in result.stderr
    assert "variables: 3 from aws, 3 from file" in result.stderr
    assert_no_leak_on_stderr(result, seed_secrets.values())


def test_many_secrets_are_all_fetched(cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create) -> None:
    lines = []
    for index in range(25):
        create_secret(f"app/s{index}", {f"KEY_{index}": f"value-{index}"})
        lines.append(f"AWS_SECRET_S{index}=app/s{index}\n")
    write(project / ".env", "".join(lines))
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert all(child[f"KEY_{index}"] == f"value-{index}" for index in range(25))


def test_the_aws_secret_access_key_is_a_credential_not_a_mapping(
    cli: Cli, project: Path, prod_env: dict[str, str]
) -> None:
    prod_env["AWS_SECRET_ACCESS_KEY"] = SENTINEL
    prod_env["AWS_SECRET_KEY"] = SENTINEL
    result = cli("print", "-v", env=prod_env)
    assert result.returncode == 0
    assert "fetched" not in result.stderr
    assert_no_leak(result)


def test_an_empty_mapping_switches_the_mapping_off(cli: Cli, project: Path, prod_env: dict[str, str]) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    write(project / ".env.production.local", "AWS_SECRET_DATABASE=\n")
    result = cli("print", env=prod_env)
    assert result.returncode == 0
    assert result.stderr == ""


@pytest.mark.parametrize("secret_id", ["has space", "arn:aws:secretsmanager:us-west-1:123:secret:x", "a" * 600])
def test_a_malformed_mapping_is_a_configuration_error_naming_the_variable(
    cli: Cli, project: Path, prod_env: dict[str, str], secret_id: str
) -> None:
    write(project / ".env", f"AWS_SECRET_BROKEN={secret_id}\n")
    result = cli("run", "--", "true", env=prod_env)
    assert result.returncode == 78
    assert "AWS_SECRET_BROKEN (file:.env:1)" in result.stderr


def test_required_variables_are_checked_after_secrets(
    cli: Cli, project: Path, prod_env: dict[str, str], seed_secrets: dict[str, str]
) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    assert cli("run", "--require", "DATABASE_URL", "--", "true", env=prod_env).returncode == 0
    result = cli("run", "--require", "DATABASE_URL", "--require", "REDIS_URL", "--", "true", env=prod_env)
    assert result.returncode == 78
    assert "REDIS_URL" in result.stderr
    assert_no_leak(result, seed_secrets.values())
