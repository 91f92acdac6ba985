"""`rotate`, `versions` and `rollback` against moto's own server, unpatched, and when a label move fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, assert_no_leak_on_stderr, aws_env, write

SECRET = "calitho-suite/nextauth"
PENDING = "calitho-env-pending"


@pytest.fixture
def nextauth(create_secret: Create) -> str:
    return create_secret(SECRET, {"NEXTAUTH_SECRET": f"v0-{SENTINEL}", "OTHER": "kept"})


def rotate(cli: Cli, env: dict[str, str], value: str) -> Any:
    return cli("rotate", SECRET, "NEXTAUTH_SECRET", "--stdin", env=env, stdin=f"{value}\n")


def stages(secretsmanager: Any) -> dict[str, list[str]]:
    answer = secretsmanager.list_secret_version_ids(SecretId=SECRET, IncludeDeprecated=True)
    return {version["VersionId"]: version.get("VersionStages", []) for version in answer["Versions"]}


def current_value(secretsmanager: Any, stage: str = "AWSCURRENT") -> str:
    text = secretsmanager.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"]
    value: str = json.loads(text)["NEXTAUTH_SECRET"]
    return value


def test_the_moto_server_under_test_is_moto_as_shipped() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    assert not hasattr(SecretsManagerBackend.update_secret_version_stage, "calitho_env_fixed")


def test_two_rotates_in_a_row_then_a_launch_see_the_newest_value(
    cli: Cli, project: Path, tmp_path: Path, aws: str, nextauth: str
) -> None:
    env = aws_env(aws, tmp_path)
    first = rotate(cli, env, f"v1-{SENTINEL}")
    assert first.returncode == 0, first.output()
    second = rotate(cli, env, f"v2-{SENTINEL}")
    assert second.returncode == 0, second.output()
    assert_no_leak(second)
    write(project / ".env.production", f"AWS_SECRET_NEXTAUTH={SECRET}\n")
    child = cli("run", "--", *DUMP_ENV, env={**env, "NODE_ENV": "production"}).child_env()
    assert child["NEXTAUTH_SECRET"] == f"v2-{SENTINEL}"
    assert child["OTHER"] == "kept"


def test_a_failed_removal_of_the_pending_label_after_the_switch_is_a_warning_naming_version_label_and_call(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, nextauth: str, secretsmanager: Any
) -> None:
    proxy.add(Fault("AccessDeniedException", action="UpdateSecretVersionStage", skip=1))
    result = rotate(cli, aws_env(proxy.url, tmp_path), f"v1-{SENTINEL}")
    assert result.returncode == 0, result.output()
    version = result.stdout.strip()
    assert current_value(secretsmanager) == f"v1-{SENTINEL}"
    assert PENDING in stages(secretsmanager)[version]
    assert f"new version {version} is AWSCURRENT" in result.stderr
    assert PENDING in result.stderr
    assert "UpdateSecretVersionStage" in result.stderr
    assert f"--remove-from-version-id {version}" in result.stderr
    assert "GetSecretValue" not in result.stderr
    assert_no_leak_on_stderr(result)


def test_a_failed_switch_to_the_new_version_takes_the_pending_label_off_it(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, nextauth: str, secretsmanager: Any
) -> None:
    proxy.add(Fault("AccessDeniedException", action="UpdateSecretVersionStage", times=1))
    result = rotate(cli, aws_env(proxy.url, tmp_path), f"v1-{SENTINEL}")
    assert result.returncode != 0
    assert current_value(secretsmanager) == f"v0-{SENTINEL}"
    assert not any(PENDING in labels for labels in stages(secretsmanager).values())
    assert "was not changed" in result.stderr
    assert "UpdateSecretVersionStage" in result.stderr
    assert "secretsmanager:UpdateSecretVersionStage" in result.stderr
    assert "GetSecretValue" not in result.stderr
    assert_no_leak(result)


def test_when_the_label_cannot_be_removed_either_the_error_says_how_to_finish_or_undo(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, nextauth: str, secretsmanager: Any
) -> None:
    proxy.add(Fault("AccessDeniedException", action="UpdateSecretVersionStage"))
    result = rotate(cli, aws_env(proxy.url, tmp_path), f"v1-{SENTINEL}")
    assert result.returncode != 0
    (pending,) = [version for version, labels in stages(secretsmanager).items() if PENDING in labels]
    assert f"the new version {pending} holds the new value under the label {PENDING}" in result.stderr
    assert "UpdateSecretVersionStage" in result.stderr
    assert f"to finish: aws secretsmanager update-secret-version-stage --secret-id {SECRET}" in result.stderr
    assert f"--move-to-version-id {pending}" in result.stderr
    assert f"to undo: aws secretsmanager update-secret-version-stage --secret-id {SECRET}" in result.stderr
    assert_no_leak(result)


def test_versions_lists_each_labelled_version_newest_first_with_its_date_and_never_a_value(
    cli: Cli, tmp_path: Path, aws: str, nextauth: str, secretsmanager: Any
) -> None:
    env = aws_env(aws, tmp_path)
    assert rotate(cli, env, f"v1-{SENTINEL}").returncode == 0
    result = cli("versions", SECRET, env=env)
    assert result.returncode == 0, result.output()
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["VERSION", "ID", "STAGES", "CREATED"]
    labelled = {version: labels for version, labels in stages(secretsmanager).items() if labels}
    assert [row.split()[0] for row in rows] == sorted(labelled, key=lambda v: "AWSCURRENT" not in labelled[v])
    assert rows[0].split()[1] == "AWSCURRENT"
    assert rows[1].split()[1] == "AWSPREVIOUS"
    assert all(row.endswith(" UTC") for row in rows)
    assert_no_leak(result, [SENTINEL, "v1-", "kept"])


def test_rollback_makes_the_previous_version_current_and_a_second_rollback_undoes_it(
    cli: Cli, project: Path, tmp_path: Path, aws: str, nextauth: str, secretsmanager: Any
) -> None:
    env = aws_env(aws, tmp_path)
    rotated = rotate(cli, env, f"v1-{SENTINEL}")
    write(project / ".env.production", f"AWS_SECRET_NEXTAUTH={SECRET}\n")
    back = cli("rollback", SECRET, env=env)
    assert back.returncode == 0, back.output()
    assert current_value(secretsmanager) == f"v0-{SENTINEL}"
    assert current_value(secretsmanager, "AWSPREVIOUS") == f"v1-{SENTINEL}"
    assert "is AWSPREVIOUS (roll back again to undo)" in back.stderr
    child = cli("run", "--", *DUMP_ENV, env={**env, "NODE_ENV": "production"}).child_env()
    assert child["NEXTAUTH_SECRET"] == f"v0-{SENTINEL}"
    again = cli("rollback", SECRET, env=env)
    assert again.returncode == 0, again.output()
    assert again.stdout == rotated.stdout
    assert current_value(secretsmanager) == f"v1-{SENTINEL}"
    assert_no_leak(back)
    assert_no_leak(again)


def test_rollback_changes_nothing_when_awscurrent_moved_after_it_looked(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, nextauth: str, secretsmanager: Any
) -> None:
    env = aws_env(proxy.url, tmp_path)
    assert rotate(cli, env, f"v1-{SENTINEL}").returncode == 0

    def another_writer_slips_in(answer: dict[str, Any]) -> dict[str, Any]:
        current = next(v["VersionId"] for v in answer["Versions"] if "AWSCURRENT" in v.get("VersionStages", []))
        newer = secretsmanager.put_secret_value(
            SecretId=SECRET, SecretString=json.dumps({"NEXTAUTH_SECRET": f"v2-{SENTINEL}"}), VersionStages=["x"]
        )["VersionId"]
        secretsmanager.update_secret_version_stage(
            SecretId=SECRET, VersionStage="AWSCURRENT", MoveToVersionId=newer, RemoveFromVersionId=current
        )
        return answer

    proxy.rewrites["ListSecretVersionIds"] = another_writer_slips_in
    result = cli("rollback", SECRET, env=env)
    assert result.returncode == 1
    assert "changed while rolling back" in result.stderr
    assert "nothing changed" in result.stderr
    assert current_value(secretsmanager) == f"v2-{SENTINEL}"
    assert_no_leak(result)


def test_rollback_of_a_secret_with_one_version_says_there_is_nothing_to_roll_back_to(
    cli: Cli, tmp_path: Path, aws: str, nextauth: str
) -> None:
    result = cli("rollback", SECRET, env=aws_env(aws, tmp_path))
    assert result.returncode == 1
    assert "has no AWSPREVIOUS version: nothing to roll back to" in result.stderr
    assert_no_leak(result)


@pytest.mark.parametrize("command", ["versions", "rollback"])
def test_versions_and_rollback_of_a_missing_secret_say_it_does_not_exist(
    cli: Cli, tmp_path: Path, aws: str, command: str
) -> None:
    result = cli(command, "no/such-secret", env=aws_env(aws, tmp_path))
    assert result.returncode == 1
    assert "secret no/such-secret does not exist" in result.stderr


def test_the_setup_policy_covers_versions_and_rollback(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env.production", f"AWS_SECRET_NEXTAUTH={SECRET}\n")
    result = cli(
        "iam-policy", "--for", "setup", "--account", "123456789012", env=aws_env("http://127.0.0.1:9", tmp_path)
    )
    assert result.returncode == 0, result.output()
    actions = json.loads(result.stdout)["Statement"][0]["Action"]
    assert {"secretsmanager:ListSecretVersionIds", "secretsmanager:UpdateSecretVersionStage"} <= set(actions)


def test_a_switch_that_gets_no_answer_says_it_may_have_landed_and_how_to_find_out(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, nextauth: str
) -> None:
    proxy.add(Fault(action="UpdateSecretVersionStage", stall=True))
    result = cli(
        "rotate", SECRET, "NEXTAUTH_SECRET", "--stdin", "--timeout", "2", env=aws_env(proxy.url, tmp_path), stdin="v1\n"
    )
    assert result.returncode != 0
    assert "it may or may not be AWSCURRENT" in result.stderr
    assert f"`calitho-env versions {SECRET}` shows which version is AWSCURRENT" in result.stderr
    assert "was not changed" not in result.stderr
    assert_no_leak(result)
