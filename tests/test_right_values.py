"""Production never quietly runs on the wrong values: each way it could, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from calitho_env.aws.secretsmanager import answers
from calitho_env.core.secret_requests import SecretRequest
from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    Create,
    assert_no_leak,
    assert_no_leak_on_stderr,
    aws_env,
    write,
)

PARTIAL = "arn:aws:secretsmanager:us-west-1:123456789012:secret:"


def production(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    return aws_env(endpoint, home, NODE_ENV="production", **extra)


# 1. --batch matches each answer to exactly the secret asked for


@pytest.mark.parametrize("reverse_answers", [False, True])
@pytest.mark.parametrize("app_first", [False, True])
def test_batch_never_gives_a_secret_the_values_of_one_whose_name_it_prefixes(
    cli: Cli,
    project: Path,
    tmp_path: Path,
    proxy: AwsProxy,
    create_secret: Create,
    reverse_answers: bool,
    app_first: bool,
) -> None:
    create_secret("calitho/app", {"WHO": "app"})
    create_secret("calitho/app-admin", {"WHO_ADMIN": "admin"})
    if reverse_answers:  # AWS promises no order

        def reverse(answer: dict[str, Any]) -> dict[str, Any]:
            answer["SecretValues"].reverse()
            return answer

        proxy.rewrites["BatchGetSecretValue"] = reverse
    lines = [f"AWS_SECRET_A={PARTIAL}calitho/app-admin\n", f"AWS_SECRET_B={PARTIAL}calitho/app\n"]
    write(project / ".env", "".join(reversed(lines) if app_first else lines))
    result = cli("print", "--batch", "--format", "json", "--fallback", "none", env=production(proxy.url, tmp_path))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert (values["WHO"], values["WHO_ADMIN"]) == ("app", "admin")
    table = cli("print", "--batch", "--format", "table", "--wide", "WHO", env=production(proxy.url, tmp_path)).stdout
    assert f"aws:{PARTIAL}calitho/app@" in table
    assert "app-admin" not in table


@pytest.mark.parametrize(
    ("asked", "arn", "name", "expected"),
    [
        ("calitho/app", f"{PARTIAL}calitho/app-AbCdEf", "calitho/app", True),
        ("calitho/app", f"{PARTIAL}calitho/app-admin-AbCdEf", "calitho/app-admin", False),
        (f"{PARTIAL}calitho/app", f"{PARTIAL}calitho/app-AbCdEf", "calitho/app", True),
        (f"{PARTIAL}calitho/app", f"{PARTIAL}calitho/app-admin-AbCdEf", "calitho/app-admin", False),
        (f"{PARTIAL}calitho/app", f"{PARTIAL}calitho/app-adminX", "calitho/app-a", False),
        (f"{PARTIAL}calitho/app-AbCdEf", f"{PARTIAL}calitho/app-AbCdEf", "calitho/app", True),
        (f"{PARTIAL}calitho/app-AbCdEf", f"{PARTIAL}calitho/app-AbCdEf-XyZ123", "calitho/app-AbCdEf", True),
        (f"{PARTIAL}calitho/app-AbCdEf", f"{PARTIAL}calitho/app-AbCdEf-XyZ123", "calitho/app", False),
    ],
)
def test_a_batch_answer_is_matched_by_full_arn_name_or_partial_arn_plus_six(
    asked: str, arn: str, name: str, expected: bool
) -> None:
    assert answers(SecretRequest(asked), {"ARN": arn, "Name": name}) is expected


# 2. An answer that is not a Secrets Manager response is a fetch failure, not a bad secret

GARBAGE = {
    "captive portal": f"<html><body>Sign in to the Wi-Fi {SENTINEL}</body></html>".encode(),
    "truncated JSON": f'{{"ARN": "{PARTIAL}x-AbCdEf", "SecretString": "{{\\"A\\": \\"{SENTINEL}'.encode(),
    "a JSON array": b"[1, 2]",
    "an empty object": b"{}",
}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbage_answer_falls_back_with_an_invalid_response_warning(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create, body: bytes
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://prod"})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL=postgres://fallback\n")
    proxy.add(Fault(status=200, body=body))
    result = cli("run", "--", *DUMP_ENV, env=production(proxy.url, tmp_path))
    assert result.child_env()["DATABASE_URL"] == "postgres://fallback"
    assert "(InvalidResponse: the answer was not a Secrets Manager response)" in result.stderr
    assert "HTTPS_PROXY" in result.stderr
    assert_no_leak_on_stderr(result)


def test_a_garbage_answer_without_fallback_exits_69(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://prod"})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    proxy.add(Fault(status=200, body=GARBAGE["captive portal"]))
    result = cli("run", "--no-fallback", "--", *DUMP_ENV, env=production(proxy.url, tmp_path))
    assert result.returncode == 69
    assert "InvalidResponse" in result.stderr
    assert_no_leak(result)


# 3. Fallback that cannot silently reach development values

SEED_LAYOUT = f"AWS_SECRET_DATABASE=calitho-suite/database\nDATABASE_URL=postgres://localhost/{SENTINEL}\n"


def test_every_fallback_names_its_source_says_development_may_be_in_use_and_is_summed_up(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", SEED_LAYOUT)
    write(project / ".env.production", "PORT=3000\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert result.child_env()["DATABASE_URL"] == f"postgres://localhost/{SENTINEL}"
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 2, result.stderr
    assert "secret calitho-suite/database could not be fetched (ResourceNotFoundException" in warnings[0]
    assert warnings[1].startswith("calitho-env: warning: 2 variable(s) running on fallback values:")
    assert "DATABASE_URL from file:.env:2, a file development reads too: this may be a development value" in warnings[1]
    assert "PORT from file:.env.production:1" in warnings[1]
    assert "PORT from file:.env.production:1, a file development" not in warnings[1]
    assert_no_leak_on_stderr(result)


def test_the_fallback_summary_is_a_json_event_with_each_variables_source(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", SEED_LAYOUT)
    result = cli("run", "--log-format", "json", "--", *DUMP_ENV, env=production(aws, tmp_path))
    events = [json.loads(line) for line in result.stderr.splitlines()]
    summary = next(event for event in events if event["event"] == "fallback_in_use")
    assert summary["level"] == "warning"
    assert summary["variables"] == {"DATABASE_URL": "fallback:file:.env:2"}
    assert_no_leak_on_stderr(result)


@pytest.mark.parametrize("how", [["--fallback", "environment"], ["ENV"]])
def test_fallback_environment_never_lets_an_env_file_value_stand_in(
    cli: Cli, project: Path, tmp_path: Path, aws: str, how: list[str]
) -> None:
    write(project / ".env", SEED_LAYOUT + f"REDIS_URL=redis://{SENTINEL}\n")
    env = production(aws, tmp_path, REDIS_URL="redis://from-the-task-definition")
    if how == ["ENV"]:
        env["CALITHO_ENV_FALLBACK"] = "environment"
        how = []
    result = cli("run", *how, "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert "DATABASE_URL" not in child
    assert child["REDIS_URL"] == "redis://from-the-task-definition"
    assert "DATABASE_URL unset: env files may not stand in (--fallback environment)" in result.stderr
    assert "REDIS_URL from process" in result.stderr
    assert_no_leak_on_stderr(result)


def test_fallback_environment_with_a_required_variable_exits_78(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", SEED_LAYOUT)
    result = cli(
        "run", "--fallback", "environment", "--require", "DATABASE_URL", "--", "true", env=production(aws, tmp_path)
    )
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr
    assert_no_leak(result)


@pytest.mark.parametrize("how", [["--fallback", "none"], ["--no-fallback"], ["CALITHO_ENV_FALLBACK=none"]])
def test_fallback_none_in_each_spelling_exits_69(
    cli: Cli, project: Path, tmp_path: Path, aws: str, how: list[str]
) -> None:
    write(project / ".env", SEED_LAYOUT)
    env = production(aws, tmp_path)
    if how[0].startswith("CALITHO_ENV_FALLBACK"):
        env["CALITHO_ENV_FALLBACK"] = "none"
        how = []
    result = cli("run", *how, "--", *DUMP_ENV, env=env)
    assert result.returncode == 69
    assert_no_leak(result)


def test_an_unknown_fallback_word_is_a_configuration_error(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    result = cli("print", env=production(aws, tmp_path, CALITHO_ENV_FALLBACK="sometimes"))
    assert result.returncode == 78
    assert "CALITHO_ENV_FALLBACK is not one of all, environment, none" in result.stderr


def test_print_table_and_check_show_the_fallback_provenance(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", SEED_LAYOUT)
    table = cli("print", "--format", "table", env=production(aws, tmp_path))
    assert "fallback:file:.env:2" in table.stdout
    check = cli("check", env=production(aws, tmp_path))
    assert "without it, run would use: DATABASE_URL from fallback:file:.env:2" in check.stdout
    assert_no_leak(table)
    assert_no_leak(check)


ARN = "arn:aws:secretsmanager:us-west-1:123456789012:secret:calitho-suite/missing"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".env": f"TOKEN={ARN}\n"}, "TOKEN unset"),
        ({".env": "TOKEN=plain\n", "process": ARN}, "TOKEN from file:.env:1"),
    ],
)
def test_a_failed_reference_says_what_really_happens(
    cli: Cli, project: Path, tmp_path: Path, aws: str, files: dict[str, str], expected: str
) -> None:
    env = production(aws, tmp_path)
    for name, text in files.items():
        if name == "process":
            env["TOKEN"] = text
        else:
            write(project / name, text)
    result = cli("run", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert child.get("TOKEN") == (None if expected.endswith("unset") else "plain")
    first = next(line for line in result.stderr.splitlines() if "could not be fetched" in line)
    assert expected in first


# 4. References only where they are meant


def test_a_variable_whose_name_ends_in_arn_is_never_a_reference(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/app-db", {"password": SENTINEL})
    write(project / ".env", f"DB_SECRET_ARN={arn}\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert result.child_env()["DB_SECRET_ARN"] == arn
    assert_no_leak_on_stderr(result)


@pytest.mark.parametrize("how", [["--no-references"], ["CALITHO_ENV_REFERENCES=0"]])
def test_references_can_be_switched_off(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, how: list[str]
) -> None:
    arn = create_secret("calitho-suite/token", SENTINEL)
    write(project / ".env", f"TOKEN={arn}\n")
    env = production(aws, tmp_path)
    if how[0].startswith("CALITHO"):
        env["CALITHO_ENV_REFERENCES"] = "0"
        how = []
    result = cli("run", *how, "--", *DUMP_ENV, env=env)
    assert result.child_env()["TOKEN"] == arn


@pytest.mark.parametrize("mode", ["development", "test"])
def test_outside_production_an_arn_is_a_plain_value_even_a_malformed_one(
    cli: Cli, project: Path, tmp_path: Path, aws: str, mode: str
) -> None:
    env = aws_env(aws, tmp_path, NODE_ENV=mode, INHERITED="arn:aws:secretsmanager:*:*:secret:*")
    result = cli("run", "--", *DUMP_ENV, env=env)
    assert result.child_env()["INHERITED"] == "arn:aws:secretsmanager:*:*:secret:*"


def test_a_reference_with_both_a_version_stage_and_a_version_id_exits_78(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    version = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    write(project / ".env", f"TOKEN={ARN}:key:AWSPREVIOUS:{version}\n")
    result = cli("run", "--", "true", env=production(aws, tmp_path))
    assert result.returncode == 78
    assert "TOKEN (file:.env:1): a secret reference names a version stage and a version id" in result.stderr


# 5. Secrets may not load code into the child


def test_a_secret_cannot_make_node_run_code_but_allow_key_accepts_it_on_purpose(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    marker = tmp_path / "ran"
    payload = tmp_path / "payload.js"
    payload.write_text(f"require('fs').writeFileSync({json.dumps(str(marker))}, 'x')\n")
    create_secret("calitho-suite/evil", {"NODE_OPTIONS": f"--require={payload}", "PLAIN": "ok"})
    write(project / ".env", "AWS_SECRET_EVIL=calitho-suite/evil\n")
    node = ["node", "-e", "console.log(process.env.PLAIN)"]
    refused = cli("run", "--", *node, env=production(aws, tmp_path))
    assert refused.stdout.strip() == "ok"
    assert not marker.exists()
    assert "secret calitho-suite/evil may not set NODE_OPTIONS: it is a protected name" in refused.stderr
    assert "--allow-key NODE_OPTIONS" in refused.stderr
    accepted = cli("run", "--allow-key", "NODE_OPTIONS", "--", *node, env=production(aws, tmp_path))
    assert accepted.returncode == 0, accepted.stderr
    assert marker.exists()


@pytest.mark.parametrize(
    "name",
    ["NODE_OPTIONS", "BASH_ENV", "ENV", "PYTHONPATH", "PERL5OPT", "JAVA_TOOL_OPTIONS", "GCONV_PATH",
     "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_CA_BUNDLE", "AWS_CONFIG_FILE", "LD_PRELOAD", "HTTPS_PROXY"],
)  # fmt: skip
def test_secrets_may_not_set_names_that_load_or_redirect_something(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, name: str
) -> None:
    create_secret("calitho-suite/evil", {name: SENTINEL})
    write(project / ".env", "AWS_SECRET_EVIL=calitho-suite/evil\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert result.child_env().get(name) != SENTINEL
    assert f"may not set {name}" in result.stderr
    allowed = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path, CALITHO_ENV_ALLOW_KEYS=f"OTHER,{name}"))
    assert allowed.child_env()[name] == SENTINEL
    assert_no_leak_on_stderr(result)


def test_a_reference_may_not_set_a_protected_name_either(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/opts", SENTINEL)
    write(project / ".env", f"NODE_OPTIONS={arn}\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert result.child_env().get("NODE_OPTIONS") != SENTINEL
    assert "may not set NODE_OPTIONS" in result.stderr


def test_env_files_and_the_environment_stay_unrestricted(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", "NODE_OPTIONS=--max-old-space-size=256\n")
    child = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path, PYTHONPATH="/opt/app")).child_env()
    assert (child["NODE_OPTIONS"], child["PYTHONPATH"]) == ("--max-old-space-size=256", "/opt/app")


# 6. Values exactly as stored


def test_numbers_keep_their_json_text_at_every_depth(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    huge = "9" * 5000
    create_secret("typed", f'{{"N": {{"price": 2.50, "big": 1e400, "list": [1.0, -0]}}, "HUGE": {huge}, "E": 1E+2}}')
    write(project / ".env", "AWS_SECRET_TYPED=typed\n")
    result = cli("print", "--format", "json", env=production(aws, tmp_path))
    values = json.loads(result.stdout)
    del values["AWS_SECRET_TYPED"]
    assert values == {"N": '{"price":2.50,"big":1e400,"list":[1.0,-0]}', "HUGE": huge, "E": "1E+2"}


@pytest.mark.parametrize(
    ("secret_string", "message"),
    [
        ('{"A": "\\ud800' + SENTINEL + '"}', "a value holds a lone UTF-16 surrogate"),
        ('{"A": {"b": ["\\udfff' + SENTINEL + '"]}}', "a value holds a lone UTF-16 surrogate"),
        ('{"A": ' + "[" * 20000 + "]" * 20000 + "}", "is nested too deeply"),
    ],
    ids=["lone surrogate", "nested lone surrogate", "20000 deep"],
)
def test_what_the_json_layer_chokes_on_exits_78_naming_the_secret(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, secret_string: str, message: str
) -> None:
    create_secret("weird", secret_string)
    write(project / ".env", "AWS_SECRET_WEIRD=weird\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert result.returncode == 78, result.stderr
    assert "secret weird" in result.stderr
    assert message in result.stderr
    assert_no_leak(result)


def test_deep_but_readable_nesting_is_carried_exactly(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    nested = "[" * 500 + "2.50" + "]" * 500
    create_secret("deep", f'{{"A": {nested}}}')
    write(project / ".env", "AWS_SECRET_DEEP=deep\n")
    assert cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path)).child_env()["A"] == nested


def test_a_failed_mapping_with_nothing_to_stand_in_says_so(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    write(project / ".env.development", f"DATABASE_URL=postgres://localhost/{SENTINEL}\n")
    result = cli("run", "--", *DUMP_ENV, env=production(aws, tmp_path))
    assert "DATABASE_URL" not in result.child_env()
    assert "its keys are unknown, and no env-file value can stand in for them" in result.stderr
    assert "running on fallback values" not in result.stderr
    assert_no_leak_on_stderr(result)
