"""The deployment examples in examples/ work as docs/production.md says: each is exercised here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.aws_proxy import AwsProxy
from tests.harness import DUMP_ENV, Cli, Create, aws_env, base_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def dockerfile_instruction(name: str) -> list[str]:
    text = (EXAMPLES / "Dockerfile").read_text()
    match = re.search(rf"^{name} (\[.*\])$", text, re.MULTILINE)
    assert match, f"no exec-form {name} in the Dockerfile"
    words: list[str] = json.loads(match[1])
    return words


def dockerfile_env() -> dict[str, str]:
    text = (EXAMPLES / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ENV "))
    pairs = dict(pair.split("=", 1) for pair in line[4:].split())
    return {key: value for key, value in pairs.items() if key != "PATH"}


def task_environment() -> dict[str, str]:
    definition = json.loads((EXAMPLES / "ecs-task-definition.json").read_text())
    (container,) = definition["containerDefinitions"]
    return {item["name"]: item["value"] for item in container["environment"]}


@pytest.fixture
def suite_secrets(create_secret: Create) -> None:
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgresql://calitho:pw@db.internal:5432/calitho"})
    create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": "task-nextauth"})
    create_secret("calitho-suite/redis", {"REDIS_URL": "redis://cache.internal:6379"})


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_container_entrypoint_starts_npm_start_with_secrets_from_the_task_role(
    tmp_path: Path, aws: str, suite_secrets: None, container_credentials: tuple[str, list[str]]
) -> None:
    """ENTRYPOINT + CMD as Docker runs them, the task definition's environment, task-role credentials."""
    assert dockerfile_instruction("ENTRYPOINT") == ["calitho-env", "run", "--"]
    app = tmp_path / "app"
    shutil.copytree(EXAMPLES / "node-service", app)
    url, calls = container_credentials
    env = base_env(
        tmp_path,
        {
            **dockerfile_env(),
            **task_environment(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,  # what ECS sets for a task role: no keys in the image
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws,
        },
    )
    completed = subprocess.run(
        dockerfile_instruction("ENTRYPOINT") + dockerfile_instruction("CMD") + ["--silent"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "node service sees DATABASE_URL=postgresql://calitho:pw@db.internal:5432/calitho" in completed.stdout
    assert "node service sees NEXTAUTH_SECRET=task-nextauth" in completed.stdout
    assert "node service sees REDIS_URL=redis://cache.internal:6379" in completed.stdout
    assert calls, "credentials came from the container endpoint"


def test_the_task_role_policy_is_what_iam_policy_prints_for_the_task_definition(cli: Cli, tmp_path: Path) -> None:
    env = base_env(tmp_path, task_environment())
    result = cli("iam-policy", "--account", "123456789012", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((EXAMPLES / "ecs-task-role-policy.json").read_text())


def test_the_api_worker_gets_its_values_in_production(
    project: Path, tmp_path: Path, aws: str, suite_secrets: None
) -> None:
    (project / ".env").write_text("AWS_SECRET_DATABASE=calitho-suite/database\nAWS_SECRET_REDIS=calitho-suite/redis\n")
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "api_worker.py")],
        cwd=project,
        env=aws_env(aws, tmp_path, NODE_ENV="production"),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "worker: database db.internal:5432/calitho",
        "worker: redis cache.internal:6379",
        "worker: 4 variables resolved",
    ]
    assert "pw@" not in completed.stdout


def test_the_api_worker_exits_78_when_a_variable_is_missing(project: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "api_worker.py")],
        cwd=project,
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 78
    assert "DATABASE_URL" in completed.stdout


def manifest_environment() -> dict[str, str]:
    """The Deployment's container env, as Kubernetes gives it to the process."""
    documents = list(yaml.safe_load_all((EXAMPLES / "kubernetes" / "deployment.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: str(item["value"]) for item in container["env"]}


def test_on_eks_with_irsa_the_pod_gets_its_secrets_through_web_identity(
    cli: Cli, tmp_path: Path, proxy: AwsProxy, suite_secrets: None
) -> None:
    """What EKS injects for IAM roles for service accounts: a role ARN and a projected token file."""
    documents = list(yaml.safe_load_all((EXAMPLES / "kubernetes" / "deployment.yaml").read_text()))
    account = next(d for d in documents if d["kind"] == "ServiceAccount")
    token = tmp_path / "eks.amazonaws.com" / "serviceaccount" / "token"
    token.parent.mkdir(parents=True)
    token.write_text("eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.signature")
    env = base_env(
        tmp_path,
        {
            **manifest_environment(),
            "AWS_ROLE_ARN": account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url,
            "AWS_ENDPOINT_URL_STS": proxy.url,
        },
    )
    proxy.reset_counts()
    child = cli("run", "--", *DUMP_ENV, env=env).child_env()
    assert child["DATABASE_URL"] == "postgresql://calitho:pw@db.internal:5432/calitho"
    assert child["REDIS_URL"] == "redis://cache.internal:6379"
    assert proxy.calls["AssumeRoleWithWebIdentity"] == 1
    assert "credentials: from web identity (IRSA)" in cli("check", env=env).stdout


def test_on_eks_with_pod_identity_the_pod_gets_its_secrets_from_the_agent(
    cli: Cli, tmp_path: Path, aws: str, suite_secrets: None, container_credentials: tuple[str, list[str]]
) -> None:
    """What EKS Pod Identity injects: the agent's URI and a token file, sent as Authorization."""
    url, calls = container_credentials
    token = tmp_path / "eks-pod-identity-token"
    token.write_text("pod-identity-token")
    env = base_env(
        tmp_path,
        {
            **manifest_environment(),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws,
        },
    )
    child = cli("run", "--", *DUMP_ENV, env=env).child_env()
    assert child["NEXTAUTH_SECRET"] == "task-nextauth"
    assert calls == ["pod-identity-token"]
