"""The least-privilege IAM policy for the configured secrets (pure; the account comes from the caller)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from calitho_env.core.secret_requests import PATH, SECRET, SecretRequest

RUN_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
SETUP_ACTIONS = [
    *RUN_ACTIONS,
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",  # the compare-and-swap of every write
    "secretsmanager:TagResource",
    "secretsmanager:ListSecretVersionIds",  # versions and rollback
]
_RANDOM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def secret_arn(request: SecretRequest, region: str | None, account: str) -> str:
    """An exact ARN where one is configured; else the name with Secrets Manager's `-??????` suffix."""
    if request.secret_id.startswith("arn:"):
        return request.secret_id if _RANDOM_SUFFIX.search(request.secret_id) else request.secret_id + "-??????"
    return f"arn:aws:secretsmanager:{region or '*'}:{account}:secret:{request.secret_id}-??????"


def parameter_arns(request: SecretRequest, region: str | None, account: str) -> list[str]:
    """A parameter's ARN; a path's, and everything under it (GetParametersByPath is recursive)."""
    name = request.secret_id.rstrip("/") if request.kind == PATH else request.secret_id
    base = (
        f"arn:aws:ssm:{request.region or region or '*'}:{account}:parameter{'' if name.startswith('/') else '/'}{name}"
    )
    return [base, base + "/*"] if request.kind == PATH else [base]


def policy(
    requests: Sequence[SecretRequest], region: str | None, account: str, purpose: str, batch: bool = False
) -> dict[str, Any]:
    secrets = [request for request in requests if request.kind == SECRET]
    parameters = [request for request in requests if request.kind != SECRET]
    statements: list[dict[str, Any]] = []
    if secrets:
        statements.append(
            {
                "Sid": "CalithoEnvSetup" if purpose == "setup" else "CalithoEnvRun",
                "Effect": "Allow",
                "Action": SETUP_ACTIONS if purpose == "setup" else RUN_ACTIONS,
                "Resource": sorted({secret_arn(request, region, account) for request in secrets}),
            }
        )
    if parameters:  # SecureString with a customer-managed KMS key also needs kms:Decrypt on that key
        actions = ["ssm:GetParameters"] + (
            ["ssm:GetParametersByPath"] if any(r.kind == PATH for r in parameters) else []
        )
        resources = sorted({arn for request in parameters for arn in parameter_arns(request, region, account)})
        statements.append({"Sid": "CalithoEnvParameters", "Effect": "Allow", "Action": actions, "Resource": resources})
    if batch:  # BatchGetSecretValue has no resource-level permission; GetSecretValue above still limits it
        statements.append(
            {
                "Sid": "CalithoEnvBatch",
                "Effect": "Allow",
                "Action": ["secretsmanager:BatchGetSecretValue"],
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
