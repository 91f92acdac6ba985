"""--batch (opt-in): one BatchGetSecretValue per 20 secrets, with the same per-secret fallback."""

from __future__ import annotations

import json
from pathlib import Path

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    Create,
    assert_no_leak_on_stderr,
    aws_env,
    write,
)


def many(project: Path, create_secret: Create, count: int) -> None:
    lines = []
    for index in range(count):
        create_secret(f"app/s{index}", {f"KEY_{index}": f"value-{index}"})
        lines.append(f"AWS_SECRET_S{index}=app/s{index}\n")
    write(project / ".env", "".join(lines))


def test_batch_fetches_twenty_five_secrets_in_two_calls(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create
) -> None:
    many(project, create_secret, 25)
    proxy.reset_counts()
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", CALITHO_ENV_BATCH="1")
    child = cli("run", "--no-fallback", "--", *DUMP_ENV, env=env).child_env()
    assert all(child[f"KEY_{index}"] == f"value-{index}" for index in range(25))
    assert dict(proxy.calls) == {"BatchGetSecretValue": 2}


def test_batch_reports_a_missing_secret_on_its_own_and_loads_the_others(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create
) -> None:
    many(project, create_secret, 3)
    write(project / ".env.local", f"AWS_SECRET_GONE=app/gone\nGONE_KEY={SENTINEL}\n")
    result = cli("run", "--batch", "--", *DUMP_ENV, env=aws_env(proxy.url, tmp_path, NODE_ENV="production"))
    child = result.child_env()
    assert child["KEY_2"] == "value-2"
    assert "secret app/gone could not be fetched (ResourceNotFoundException" in result.stderr
    assert_no_leak_on_stderr(result)


def test_batch_denied_falls_back_for_the_whole_batch(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create
) -> None:
    many(project, create_secret, 3)
    proxy.add(Fault("AccessDeniedException", action="BatchGetSecretValue"))
    result = cli("run", "--batch", "--", *DUMP_ENV, env=aws_env(proxy.url, tmp_path, NODE_ENV="production"))
    assert result.stderr.count("(AccessDeniedException") == 3
    assert "KEY_0" not in result.child_env()


def test_a_versioned_reference_is_fetched_alone_even_with_batch(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create
) -> None:
    many(project, create_secret, 2)
    arn = create_secret("app/versioned", {"V": "current"})
    write(project / ".env.local", f"PINNED={arn}:V:AWSCURRENT\n")
    proxy.reset_counts()
    child = cli("run", "--batch", "--", *DUMP_ENV, env=aws_env(proxy.url, tmp_path, NODE_ENV="production")).child_env()
    assert (child["PINNED"], child["KEY_1"]) == ("current", "value-1")
    assert dict(proxy.calls) == {"BatchGetSecretValue": 1, "GetSecretValue": 1}


def test_iam_policy_with_batch_allows_batch_get_secret_value(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", "AWS_SECRET_DATABASE=calitho-suite/database\n")
    result = cli("iam-policy", "--batch", "--account", "1", env=aws_env("http://127.0.0.1:9", tmp_path))
    statements = json.loads(result.stdout)["Statement"]
    assert statements[1] == {
        "Sid": "CalithoEnvBatch",
        "Effect": "Allow",
        "Action": ["secretsmanager:BatchGetSecretValue"],
        "Resource": "*",
    }
