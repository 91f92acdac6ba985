"""Hardening: nothing leaks, nothing is overwritten, nothing hangs. Each fault through the real CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import (
    DUMP_ENV,
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
