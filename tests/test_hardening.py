"""Hardening: nothing leaks, nothing is overwritten, nothing hangs. Each fault through the real CLI."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy
from tests.harness import (
    SENTINEL,
    Cli,
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
    from calitho_env.admin import envfile_editor

    seen: list[str] = []

    def failing_replace(source: str, destination: object) -> None:
        seen.append(Path(source).name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(envfile_editor.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        envfile_editor.write_atomically(tmp_path / ".env", b"A=1\n", 0o600)
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
