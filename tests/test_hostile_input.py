"""Hostile input: each gives the right result or a clean configuration error (exit 78), never a crash or a leak."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calitho_env.core.bindings import is_protected, is_valid_name
from calitho_env.core.resolution import resolve
from calitho_env.core.settings import build_settings
from calitho_env.errors import ConfigurationError
from calitho_env.fetchers import aws_fetcher
from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, Launch, assert_no_leak, base_env, write


@pytest.fixture(params=[[], ["--debug"]], ids=["plain", "debug"])
def flags(request: pytest.FixtureRequest) -> list[str]:
    """Every failure here is checked with and without --debug."""
    value: list[str] = request.param
    return value


def expect_config_error(result: Launch, fragment: str, flags: list[str] | None = None) -> None:
    assert result.returncode == 78, result.stderr
    assert fragment in result.stderr
    assert_no_leak(result, debug="--debug" in (flags or []))


# --- env files ---------------------------------------------------------------------------


def test_a_byte_order_mark_is_ignored(cli: Cli, project: Path, tmp_path: Path) -> None:
    (project / ".env").write_bytes(b"\xef\xbb\xbfFIRST=1\nSECOND=2\n")
    assert cli("run", "--", *DUMP_ENV, env=base_env(tmp_path)).child_env()["FIRST"] == "1"


def test_crlf_line_endings_are_read_like_lf(cli: Cli, project: Path, tmp_path: Path) -> None:
    (project / ".env").write_bytes(b'A=1\r\nB="two words"\r\nC=3\r\n')
    child = cli("run", "--", *DUMP_ENV, env=base_env(tmp_path)).child_env()
    assert (child["A"], child["B"], child["C"]) == ("1", "two words", "3")


def test_a_ten_megabyte_env_file_loads(cli: Cli, project: Path, tmp_path: Path) -> None:
    line = "K{index}=" + "x" * 100 + "\n"
    (project / ".env").write_text("".join(line.format(index=i) for i in range(100_000)) + "LAST=ok\n")
    assert (project / ".env").stat().st_size > 10_000_000
    result = cli("print", "--format", "json", "LAST", "K99999", env=base_env(tmp_path))
    assert json.loads(result.stdout) == {"LAST": "ok", "K99999": "x" * 100}


def test_binary_garbage_is_a_configuration_error(cli: Cli, project: Path, tmp_path: Path, flags: list[str]) -> None:
    (project / ".env").write_bytes(b"OK=" + SENTINEL.encode() + b"\n\xff\xfe\x00\x81garbage\n")
    expect_config_error(
        cli(*flags, "run", "--", "true", env=base_env(tmp_path)), ".env:2: the file is not UTF-8", flags
    )


def test_a_nul_in_an_env_file_value_is_a_configuration_error(
    cli: Cli, project: Path, tmp_path: Path, flags: list[str]
) -> None:
    (project / ".env").write_bytes(b"NULLED=" + SENTINEL.encode() + b"\x00tail\n")
    expect_config_error(
        cli(*flags, "run", "--", "true", env=base_env(tmp_path)), "the value of NULLED contains a NUL", flags
    )


def test_an_unreadable_env_file_is_a_configuration_error(cli: Cli, project: Path, tmp_path: Path) -> None:
    secret = write(project / ".env", f"HIDDEN={SENTINEL}\n")
    secret.chmod(0o000)
    command = [sys.executable, "-m", "calitho_env", "run", "--", "true"]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    completed = subprocess.run(command, cwd=project, env=base_env(tmp_path), capture_output=True, text=True)
    expect_config_error(
        Launch(completed.returncode, completed.stdout, completed.stderr, 0), ".env cannot be read (permission denied)"
    )


def test_a_directory_where_an_env_file_should_be_is_a_configuration_error(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / ".env.local").mkdir()
    expect_config_error(cli("run", "--", "true", env=base_env(tmp_path)), ".env.local is a directory")


def test_a_symlink_loop_is_a_configuration_error(cli: Cli, project: Path, tmp_path: Path) -> None:
    (project / ".env").symlink_to(project / ".env")
    expect_config_error(cli("run", "--", "true", env=base_env(tmp_path)), "it is a symlink loop")


def test_export_prefixes_duplicate_keys_and_interpolation_loops_resolve(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(
        project / ".env",
        "export EXPORTED=yes\nDUP=first\nDUP=second\nLOOP_A=${LOOP_B}a\nLOOP_B=${LOOP_A}b\nSELF=${SELF}x\n",
    )
    child = cli("run", "--", *DUMP_ENV, env=base_env(tmp_path)).child_env()
    assert child["EXPORTED"] == "yes"
    assert child["DUP"] == "second"  # python-dotenv: the later line of one file wins
    assert (child["LOOP_A"], child["LOOP_B"], child["SELF"]) == ("a", "ab", "x")


# --- secrets -----------------------------------------------------------------------------


def test_nested_objects_and_64_kb_values_are_carried_exactly(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    big = "v" * 65_000
    create_secret("big", {"BIG": big, "NESTED": {"deep": {"list": [1, "two", None, True]}}})
    write(project / ".env", "AWS_SECRET_BIG=big\n")
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["BIG"] == big
    assert child["NESTED"] == '{"deep":{"list":[1,"two",null,true]}}'


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        (f"{{not json {SENTINEL}", "holds malformed JSON: Expecting property name enclosed in double quotes at line 1"),
        (json.dumps([SENTINEL]), "is a JSON array"),
        (json.dumps({"1BAD": SENTINEL}), "the key '1BAD' is not a variable name"),
        (json.dumps({"": SENTINEL}), "the key of 0 characters (it is empty) is not a variable name"),
        (json.dumps({"NUL": SENTINEL + "\x00"}), "the value of NUL contains a NUL"),
    ],
)
def test_a_hostile_secret_is_a_configuration_error_without_its_value(
    cli: Cli,
    project: Path,
    prod_env: dict[str, str],
    create_secret: Create,
    flags: list[str],
    secret: str,
    fragment: str,
) -> None:
    create_secret("hostile", secret)
    write(project / ".env", "AWS_SECRET_HOSTILE=hostile\n")
    expect_config_error(cli(*flags, "run", "--", "true", env=prod_env), fragment, flags)


# --- the whole resolution, generated ---------------------------------------------------------

names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    st.sampled_from(["1X", "a-b", "PATH", "LD_PRELOAD", "HOME", "BASH_FUNC_f", "", "é"]),
)
value_text = st.text(alphabet=st.sampled_from(list("ab =#'\"$\\{}:-\t\x00é")), max_size=12)
line = st.tuples(names, value_text, st.sampled_from(["", "'", '"', "export "])).map(
    lambda t: f"export {t[0]}={t[1]}{SENTINEL}" if t[2] == "export " else f"{t[0]}={t[2]}{t[1]}{SENTINEL}{t[2]}"
)
json_value = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), value_text.map(lambda v: v + SENTINEL)
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
secret_string = st.one_of(
    st.dictionaries(names, json_value, max_size=4).map(json.dumps),
    json_value.map(json.dumps),
    value_text.map(lambda v: v + SENTINEL),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, max_size=6), secrets=st.lists(secret_string, max_size=3))
def test_generated_env_files_and_secrets_give_a_result_or_a_configuration_error(
    in_process_aws: None, lines: list[str], secrets: list[str]
) -> None:
    client = boto3.client("secretsmanager", region_name="us-west-1")
    for existing in client.list_secrets()["SecretList"]:
        client.delete_secret(SecretId=existing["ARN"], ForceDeleteWithoutRecovery=True)
    mappings = []
    for index, text in enumerate(secrets):
        client.create_secret(Name=f"generated/{index}", SecretString=text)
        mappings.append(f"AWS_SECRET_G{index}=generated/{index}")
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / ".env").write_text("\n".join(lines + mappings) + "\n", encoding="utf-8")
        environ = {"AWS_REGION": "us-west-1"}
        failure: ConfigurationError | None = None
        try:
            settings = build_settings(environ, mode="production", directory=folder)
            resolution = resolve(settings, environ, aws_fetcher(settings))
        except ConfigurationError as error:  # anything else fails the example
            failure = error
        if failure is not None:
            assert SENTINEL not in failure.message
            assert SENTINEL not in (failure.hint or "")
            return
        for name in resolution.injected:
            binding = resolution.variables[name]
            assert is_valid_name(name)
            assert "\x00" not in binding.value
            assert not (is_protected(name) and str(binding.source).startswith("aws:"))
        for notice in resolution.notices:
            assert SENTINEL not in notice.message
    finally:
        shutil.rmtree(folder)
