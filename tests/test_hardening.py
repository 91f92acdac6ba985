"""Hardening: nothing leaks, nothing is overwritten, nothing hangs. Each fault through the real CLI."""

from __future__ import annotations

import io
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import (
    SENTINEL,
    Cli,
    Create,
    assert_no_leak,
    assert_no_leak_on_stderr,
    aws_env,
    base_env,
    write,
)

# --- leaks --------------------------------------------------------------------------------


def test_a_value_on_a_line_of_its_own_is_described_never_echoed(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / "e", f"DATABASE_URL=\npostgres://admin:{SENTINEL}@db/app?sslmode=require\n")
    result = cli("print", "--env-file", "e", env=base_env(tmp_path))
    assert result.returncode == 78
    assert "e:2: not a variable name: it contains '-', '/', ':', '?' and '@'" in result.stderr
    assert_no_leak(result)


def test_an_unquoted_multi_line_pem_is_described_never_echoed(cli: Cli, project: Path, tmp_path: Path) -> None:
    pem = f"-----BEGIN KEY-----\nMIIB{SENTINEL}+/abc=\n-----END KEY-----"
    write(project / ".env", f"TLS_KEY={pem}\n")
    result = cli("print", env=base_env(tmp_path))
    assert result.returncode == 78
    assert ".env:2: not a variable name" in result.stderr
    assert_no_leak(result)


def test_a_mapping_value_that_is_not_a_secret_id_is_described_never_echoed(
    cli: Cli, project: Path, tmp_path: Path, aws: str
) -> None:
    write(project / ".env", f"AWS_SECRET_DATABASE=postgres://admin:{SENTINEL}@db/app\n")
    result = cli("run", "--", "true", env=aws_env(aws, tmp_path, NODE_ENV="production"))
    assert result.returncode == 78
    assert "AWS_SECRET_DATABASE (file:.env:1): the value is not a secret name (it contains ':')" in (result.stderr)
    assert_no_leak(result)


@pytest.mark.parametrize("command", [["print"], ["check"], ["iam-policy", "--account", "123456789012"]])
def test_a_credential_named_like_a_mapping_is_never_sent_or_printed(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, command: list[str]
) -> None:
    write(project / ".env", f"AWS_SECRET_ACCESS_KEY_OLD=wJalr{SENTINEL}\nAWS_SECRET_KEY_ID=x{SENTINEL}\nPLAIN=1\n")
    result = cli(*command, env=aws_env(proxy.url, tmp_path, NODE_ENV="production"))
    assert proxy.calls["GetSecretValue"] == 0
    assert proxy.calls["DescribeSecret"] == 0
    if command == ["print"]:  # print shows env-file values on stdout by design; stderr must not
        assert result.returncode == 0
        assert_no_leak_on_stderr(result)
    else:
        assert_no_leak(result)


# --- files --------------------------------------------------------------------------------

SETUP_ENV = f"DATABASE_URL=postgres://{SENTINEL}-db\nNEXTAUTH_SECRET={SENTINEL}-auth\nREDIS_URL=redis://{SENTINEL}\n"


def test_setup_never_writes_through_a_planted_backup_link(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    victim = write(tmp_path / "victim", "precious\n")
    victim.chmod(0o644)
    write(project / ".env", SETUP_ENV)
    (project / ".env.bak").symlink_to(victim)
    result = cli("setup", "--yes", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    backup = project / ".env.bak"
    assert not backup.is_symlink()
    assert backup.read_text() == SETUP_ENV
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert_no_leak(result)


def test_setup_edits_a_symlinked_env_at_its_target(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    target = write(tmp_path / "shared" / "app.env", SETUP_ENV)
    (project / ".env").symlink_to(target)
    result = cli("setup", "--yes", env=aws_env(aws, tmp_path))
    assert result.returncode == 0, result.stderr
    assert (project / ".env").is_symlink()
    assert "AWS_SECRET_DATABASE=calitho-suite/database" in target.read_text()
    assert SENTINEL not in target.read_text()
    assert SENTINEL in (project / ".env.development").read_text()


def test_no_value_is_ever_written_into_a_comment(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", "# app\n" + SETUP_ENV)
    assert cli("setup", "--yes", env=aws_env(aws, tmp_path)).returncode == 0
    for path in project.glob(".env*"):
        if path.name.endswith(".bak"):
            continue
        comments = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
        assert not any(SENTINEL in line for line in comments), path


def test_a_failed_write_leaves_no_temporary_and_temporaries_match_env_ignore_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calitho_env.core import atomic_write

    seen: list[str] = []

    def failing_replace(source: str, destination: object) -> None:
        seen.append(Path(source).name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        atomic_write.write_atomically(tmp_path / ".env", b"A=1\n", 0o600)
    assert len(seen) == 1
    assert seen[0].startswith(".env.tmp-")  # covered by a `.env*` ignore rule
    assert list(tmp_path.iterdir()) == []
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", seen[0]],
        cwd=_git_folder(tmp_path, ".env*\n"),
        check=False,
    )
    assert ignored.returncode == 0


def _git_folder(tmp_path: Path, ignore: str) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / ".gitignore").write_text(ignore)
    return folder


# --- concurrent writers -------------------------------------------------------------------

KEYS = [f"KEY_{index}" for index in range(6)]
ORIGINAL = "{" + ", ".join(f'"{key}": "old-{key}"' for key in KEYS) + ', "PRICE": 1.50, "HUGE": 1e400}'


def _rotate_all_at_once(project: Path, env: dict[str, str], secret_id: str) -> list[subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "calitho_env", "rotate", secret_id]
    processes = [
        subprocess.Popen([*command, key, "--generate"], cwd=project, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for key in KEYS
    ]  # fmt: skip
    return [subprocess.CompletedProcess(p.args, p.wait(60), *p.communicate()) for p in processes]


def test_concurrent_rotates_of_different_keys_lose_no_update_and_keep_other_keys_byte_exact(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create, secretsmanager: object
) -> None:
    create_secret("calitho-suite/app", ORIGINAL)
    proxy.request_delay = 0.05  # widen every read-modify-write window
    results = _rotate_all_at_once(project, aws_env(proxy.url, tmp_path), "calitho-suite/app")
    assert [r.returncode for r in results] == [0] * len(KEYS), [r.stderr for r in results]
    final = secretsmanager.get_secret_value(  # type: ignore[attr-defined]
        SecretId="calitho-suite/app", VersionStage="AWSCURRENT"
    )["SecretString"]
    values = json.loads(final, parse_float=str)
    assert all(values[key] != f"old-{key}" for key in KEYS), "a concurrent rotate's write was lost"
    assert final.endswith(', "PRICE": 1.50, "HUGE": 1e400}')


def test_a_rotate_keeps_every_other_key_byte_exact(
    cli: Cli, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: object
) -> None:
    create_secret("calitho-suite/app", '{ "A" : "x",\n  "N": 2.50, "BIG": 1e400, "D": 99999999999999999999999 }')
    result = cli("rotate", "calitho-suite/app", "A", "--stdin", env=aws_env(aws, tmp_path), stdin="new\n")
    assert result.returncode == 0, result.stderr
    final = secretsmanager.get_secret_value(  # type: ignore[attr-defined]
        SecretId="calitho-suite/app", VersionStage="AWSCURRENT"
    )["SecretString"]
    assert final == '{ "A" : "new",\n  "N": 2.50, "BIG": 1e400, "D": 99999999999999999999999 }'


def test_two_setups_creating_one_secret_at_once_the_loser_says_so(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    write(project / ".env", "DATABASE_URL=postgres://one\nNEXTAUTH_SECRET=two\nREDIS_URL=redis://three\n")
    proxy.request_delay = 0.2  # both read "not found" before either creates
    env = aws_env(proxy.url, tmp_path)
    command = [sys.executable, "-m", "calitho_env", "setup", "--yes", "--no-edit"]
    processes = [
        subprocess.Popen(command, cwd=project, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(60), p.communicate()[1]) for p in processes]
    losers = [stderr for code, stderr in results if code != 0]
    assert len(losers) == 1, results
    assert "was created by another run while this one was creating it" in losers[0]
    assert "run setup again" in losers[0]


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.serial
@pytest.mark.parametrize("command", [["rotate", "calitho-suite/app", "A", "--generate"], ["setup", "--yes"]])
@pytest.mark.parametrize("fault", ["blackhole", "stall"])
def test_setup_and_rotate_live_within_the_timeout(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, command: list[str], fault: str
) -> None:
    write(project / ".env", f"DATABASE_URL=postgres://{SENTINEL}\n")
    if fault == "stall":
        for action in ("GetSecretValue", "DescribeSecret", "PutSecretValue", "CreateSecret"):
            proxy.add(Fault(action=action, stall=True))
        endpoint = proxy.url
    else:
        endpoint = "http://127.0.0.1:9"  # nothing listens on the discard port: refused at once, retried
    started = time.monotonic()
    result = cli(*command, "--timeout", "2", env=aws_env(endpoint, tmp_path))
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 2 + 3, f"took {elapsed:.1f} s with --timeout 2"
    assert "AWS call failed" in result.stderr
    assert_no_leak(result)


# --- hints that name the failing part -------------------------------------------------------


@pytest.mark.serial
def test_an_unreachable_sts_is_a_note_with_an_sts_hint_not_a_problem(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": SENTINEL})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    env = aws_env(aws, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_STS="http://127.0.0.1:9")
    started = time.monotonic()
    result = cli("check", "--timeout", "8", env=env)
    assert result.returncode == 0, result.stdout
    assert time.monotonic() - started < 6  # STS has a short deadline of its own
    said = " ".join(result.stdout.split())
    assert "AWS identity unknown (EndpointConnectionError): STS could not be reached" in said
    assert "AWS_ENDPOINT_URL_STS" in said
    assert_no_leak(result)


def test_endpoint_overrides_are_shown_and_plain_http_to_another_machine_is_a_warning(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": SENTINEL})
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    # An override of a service calitho-env does not call: shown, never contacted.
    env = aws_env(aws, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_SSM="http://user:pw@203.0.113.5:8080")
    verbose = cli("-v", "run", "--", "true", env=env)
    assert f"AWS_ENDPOINT_URL_SECRETS_MANAGER={aws}" in verbose.stderr
    assert "AWS_ENDPOINT_URL_SSM=http://203.0.113.5:8080" in verbose.stderr
    assert "pw@" not in verbose.stderr
    warnings = [line for line in verbose.stderr.splitlines() if "warning:" in line]
    assert warnings == [
        "calitho-env: warning: AWS_ENDPOINT_URL_SSM sends requests over plain http to another machine: "
        "secrets cross the network unencrypted"
    ]
    check = cli("check", env=env)
    assert f"endpoint:    AWS_ENDPOINT_URL_SECRETS_MANAGER={aws}" in check.stdout
    assert "warning: AWS_ENDPOINT_URL_SSM sends requests over plain http" in " ".join(check.stdout.split())
    assert_no_leak(check)


# --- bounded input ------------------------------------------------------------------------


@pytest.mark.serial
@pytest.mark.parametrize("how", ["--env-file /dev/zero", ".env.local -> /dev/zero", "a FIFO as .env"])
def test_only_regular_files_are_read_and_nothing_blocks(cli: Cli, project: Path, tmp_path: Path, how: str) -> None:
    args: list[str] = []
    if how.startswith("--env-file"):
        args = ["--env-file", "/dev/zero"]
    elif how.startswith(".env.local"):
        (project / ".env.local").symlink_to("/dev/zero")
    else:
        os.mkfifo(project / ".env")
    started = time.monotonic()
    result = cli("run", *args, "--", "true", env=base_env(tmp_path), timeout=20)
    assert time.monotonic() - started < 10
    assert result.returncode == 78
    assert "is not a regular file (a FIFO, a device or a socket)" in result.stderr


def test_an_env_file_over_16_mib_exits_78(cli: Cli, project: Path, tmp_path: Path) -> None:
    (project / ".env").write_bytes(b"# padding\n" * (16 * 1024 * 1024 // 10 + 1))
    result = cli("run", "--", "true", env=base_env(tmp_path))
    assert result.returncode == 78
    assert ".env is over 16 MiB" in result.stderr


@pytest.mark.serial
def test_doubling_interpolations_stop_at_1_mib_naming_the_variable(cli: Cli, project: Path, tmp_path: Path) -> None:
    lines = [f"A0={SENTINEL}"] + [f"A{i}=${{A{i - 1}}}${{A{i - 1}}}" for i in range(1, 41)]
    write(project / ".env", "\n".join(lines) + "\n")
    started = time.monotonic()
    result = cli("run", "--", "true", env=base_env(tmp_path))
    assert time.monotonic() - started < 5
    assert result.returncode == 78
    assert ".env:18: the value of A17 grows past 1 MiB" in result.stderr
    assert_no_leak(result)


# --- output formats -----------------------------------------------------------------------


def test_the_table_escapes_control_characters_the_data_formats_stay_exact(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    hostile = "e\x1b]52;c;ZXZpbA==\x07"  # an OSC 52 clipboard write, in a file name
    write(project / hostile, "GREETING='hi\x1b[2Jthere'\n")
    table = cli("print", "--env-file", hostile, "--format", "table", env=base_env(tmp_path))
    assert "\x1b" not in table.stdout
    assert "\x07" not in table.stdout
    assert "file:e\\x1b]52;c;ZXZpbA==\\x07:1" in table.stdout
    exact = cli("print", "--env-file", hostile, "--format", "json", env=base_env(tmp_path))
    assert json.loads(exact.stdout) == {"GREETING": "hi\x1b[2Jthere"}


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
SURROGATES: list[Literal["Cs"]] = ["Cs"]  # not text: no environment can carry them
values = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=SURROGATES), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bindings=st.dictionaries(names, values, max_size=5), folder=values)
def test_no_format_emits_a_hostile_name_value_or_source_unsafely(bindings: dict[str, str], folder: str) -> None:
    from dotenv import dotenv_values

    from calitho_env.core.bindings import Binding, FileSource
    from calitho_env.core.formats import render
    from calitho_env.errors import ConfigurationError

    rows = [Binding(name, value, FileSource(f"/{folder}/.env", 1)) for name, value in bindings.items()]
    table = render(rows, "table", mask=False)
    assert all(line.isprintable() for line in table.split("\n")), "a control character reached the terminal"
    assert not any(value and value in table for value in bindings.values() if len(value) > 8 and value != "********")
    assert json.loads(render(rows, "json", mask=False)) == bindings
    shell = render(rows, "shell", mask=False)
    words = [word for name, value in bindings.items() for word in ("export", f"{name}={value}")]
    assert shlex.split(shell) == words  # each value one single-quoted word: nothing expanded or run
    refusal = None
    try:
        dotenv = render(rows, "dotenv", mask=False)
    except ConfigurationError as error:
        refusal = error.message
    if refusal is not None:
        assert not any(value in refusal for value in bindings.values() if len(value) > 3)
    else:
        assert dict(dotenv_values(stream=io.StringIO(dotenv), interpolate=False)) == bindings


@pytest.mark.serial
def test_setup_never_blocks_on_a_fifo_where_it_would_edit(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", SETUP_ENV)
    os.mkfifo(project / ".env.development")
    started = time.monotonic()
    result = cli("setup", "--yes", env=aws_env(aws, tmp_path), timeout=30)
    assert time.monotonic() - started < 20
    assert result.returncode == 78
    assert ".env.development is not a regular env file" in result.stderr
    assert (project / ".env").read_text() == SETUP_ENV  # nothing half-edited
    assert_no_leak(result)


def test_rotate_reads_at_most_64_kib_from_stdin(cli: Cli, tmp_path: Path, aws: str, create_secret: Create) -> None:
    create_secret("calitho-suite/app", {"A": "x"})
    result = cli("rotate", "calitho-suite/app", "A", "--stdin", env=aws_env(aws, tmp_path), stdin="v" * 70000)
    assert result.returncode == 78
    assert "over 64 KiB" in result.stderr
