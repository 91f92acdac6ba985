"""`check`: every fact about why secrets load or not, each problem with its fix; exit 0 only when all is well."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Cli, Create, Launch, assert_no_leak, aws_env, write

ENV = (
    "AWS_SECRET_DATABASE=calitho-suite/database\n"
    "AWS_SECRET_NEXTAUTH=calitho-suite/nextauth\n"
    f"DATABASE_URL=postgres://file-{SENTINEL}\n"
)


@pytest.fixture
def configured(project: Path, create_secret: Create) -> Path:
    create_secret("calitho-suite/database", {"DATABASE_URL": f"postgres://{SENTINEL}", "POOL": 5})
    create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": SENTINEL})
    write(project / ".env", ENV)
    return project


def check(cli: Cli, endpoint: str, home: Path, *args: str, **env: str) -> Launch:
    environment = aws_env(endpoint, home, **{"NODE_ENV": "production", **env})
    return cli("check", *args, env=environment)


def test_all_is_well_exits_0_and_reports_every_fact_without_values(
    cli: Cli, configured: Path, tmp_path: Path, aws: str
) -> None:
    result = check(cli, aws, tmp_path, "--require", "DATABASE_URL", "--require", "NEXTAUTH_SECRET")
    assert result.returncode == 0, result.output()
    out = result.stdout
    assert "mode:        production (from NODE_ENV)" in out
    assert "env files:   .env" in out
    assert "region:      us-west-1" in out
    assert "(account 123456789012)\ncredentials: from environment\n" in out
    assert "ok   calitho-suite/database  (used by AWS_SECRET_DATABASE)" in out
    assert "keys: DATABASE_URL, POOL" in out
    assert "last changed " in out
    assert "(0 days ago)" in out
    assert "without it, run would use: DATABASE_URL from file:.env:3, POOL unset" in out
    assert "  ok      DATABASE_URL     aws:calitho-suite/database@" in out  # rows aligned, short version ids
    assert "  ok      NEXTAUTH_SECRET  aws:calitho-suite/nextauth@" in out
    assert all(len(line) <= 80 for line in out.splitlines()), "check fits 80 columns"
    assert out.endswith("all is well\n")
    assert_no_leak(result)


def test_a_missing_secret_is_a_problem_with_the_seed_hint(cli: Cli, configured: Path, tmp_path: Path, aws: str) -> None:
    write(configured / ".env.local", "AWS_SECRET_REDIS=calitho-suite/redis\n")
    result = check(cli, aws, tmp_path)
    assert result.returncode == 1
    assert "FAIL calitho-suite/redis" in result.stdout
    assert "not found, not readable (ResourceNotFoundException)" in result.stdout
    assert "fix: verify the secret name matches exactly, check the AWS region is correct" in result.stdout
    assert result.stdout.endswith("1 problem\n")
    assert "check found" not in result.stderr  # said once, by the report
    assert_no_leak(result)


def test_access_denied_is_a_problem_with_the_policy_hint(
    cli: Cli, configured: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    proxy.add(Fault("AccessDeniedException", secret_id="calitho-suite/nextauth"))
    result = check(cli, proxy.url, tmp_path)
    assert result.returncode == 1
    assert "problem: secret calitho-suite/nextauth cannot be read: AccessDeniedException" in result.stdout
    assert "secretsmanager:GetSecretValue" in result.stdout
    assert_no_leak(result)


def test_in_development_check_checks_what_development_uses_and_says_how_to_check_production(
    cli: Cli, configured: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    result = check(cli, proxy.url, tmp_path, NODE_ENV="development")
    assert result.returncode == 0, result.stdout
    said = " ".join(result.stdout.split())  # as read, whatever the wrapping
    assert "note: mode is development (from NODE_ENV): its 2 secret(s) are not fetched in this mode" in said
    assert "`calitho-env check --mode production` checks what production loads" in said
    assert sum(proxy.calls.values()) == 0  # no AWS call in development
    assert_no_leak(result)


def test_a_missing_required_variable_is_a_problem(cli: Cli, configured: Path, tmp_path: Path, aws: str) -> None:
    result = check(cli, aws, tmp_path, "--require", "REDIS_URL")
    assert result.returncode == 1
    assert "MISSING REDIS_URL" in result.stdout
    assert "problem: required variable(s) missing or empty: REDIS_URL" in result.stdout


def test_a_secret_of_the_wrong_shape_is_a_problem(
    cli: Cli, configured: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/broken", f"[{json.dumps(SENTINEL)}]")
    write(configured / ".env.local", "AWS_SECRET_BROKEN=calitho-suite/broken\n")
    result = check(cli, aws, tmp_path)
    assert result.returncode == 1
    assert "problem: secret calitho-suite/broken is a JSON array, not a JSON object" in result.stdout
    assert_no_leak(result)


def test_a_rotation_older_than_90_days_is_a_warning_not_a_problem(
    cli: Cli, configured: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    def backdate(answer: dict[str, Any]) -> dict[str, Any]:
        answer["LastChangedDate"] = answer["LastRotatedDate"] = time.time() - 120 * 86400
        return answer

    proxy.rewrites["DescribeSecret"] = backdate
    result = check(cli, proxy.url, tmp_path)
    assert result.returncode == 0, result.output()
    assert "(120 days ago)" in result.stdout
    assert "last rotated by Secrets Manager " in result.stdout
    assert "warning: secret calitho-suite/database last changed 120 days ago (over 90)" in result.stdout


def test_no_credentials_is_a_problem_with_the_credentials_hint(
    cli: Cli, configured: Path, tmp_path: Path, aws: str
) -> None:
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = cli("check", "--timeout", "3", env=env)
    assert result.returncode == 1
    assert "credentials: from (none found)" in result.stdout
    assert result.stdout.count("  fix: no AWS credentials found") == 1  # one fix line per cause
    assert "NoCredentials" in result.stdout
    assert "aws sts get-caller-identity" in result.stdout


def test_json_format_gives_the_same_facts_as_a_documented_object(
    cli: Cli, configured: Path, tmp_path: Path, aws: str
) -> None:
    result = check(cli, aws, tmp_path, "--format", "json", "--require", "REDIS_URL")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert set(report) == {
        "ok",
        "mode",
        "mode_origin",
        "mode_description",
        "env_files",
        "region",
        "account",
        "caller_arn",
        "credential_source",
        "endpoints",
        "secrets",
        "notes",
        "secrets_not_fetched",
        "required",
        "problems",
        "warnings",
        "example",
        "declared_unset",
        "left_out",
    }
    assert report["ok"] is False
    assert (report["mode"], report["mode_origin"], report["region"]) == ("production", "NODE_ENV", "us-west-1")
    database = next(s for s in report["secrets"] if s["secret_id"] == "calitho-suite/database")
    assert database["found"] is True
    assert database["readable"] is True
    assert database["keys"] == ["DATABASE_URL", "POOL"]
    assert database["fallback"] == {"DATABASE_URL": "file:.env:3", "POOL": None}
    assert report["required"] == {"REDIS_URL": None}
    assert report["problems"][0]["message"].startswith("required variable(s) missing")
    assert_no_leak(result)


def test_check_without_secrets_in_development_is_well(cli: Cli, project: Path, tmp_path: Path, aws: str) -> None:
    write(project / ".env", "PLAIN=1\n")
    result = check(cli, aws, tmp_path, NODE_ENV="development")
    assert result.returncode == 0
    assert "secrets:     none to fetch" in result.stdout
