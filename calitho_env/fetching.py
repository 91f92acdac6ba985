"""What a secret fetch returns, and what to tell the user when it fails.

The fix hints are the seed guide's Troubleshooting section. Nothing here imports AWS code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from calitho_env.references import SecretRequest
from calitho_env.secret_values import FetchedSecret

_NOT_FOUND = "verify the secret name matches exactly, check the AWS region is correct, ensure IAM permissions are set"
_ACCESS_DENIED = (
    "check IAM permissions, verify AWS credentials are configured, "
    "ensure the IAM role/user has secretsmanager:GetSecretValue on this secret"
)
_NETWORK = (
    "Secrets Manager could not be reached: check the network or VPC endpoint, "
    "AWS_ENDPOINT_URL_SECRETS_MANAGER if set, and --timeout"
)
_HINTS = {
    "ResourceNotFoundException": _NOT_FOUND,
    "AccessDeniedException": _ACCESS_DENIED,
    "AccessDenied": _ACCESS_DENIED,
    "UnrecognizedClientException": "the credentials are not valid: " + _ACCESS_DENIED,
    "InvalidClientTokenId": "the credentials are not valid: " + _ACCESS_DENIED,
    "ExpiredTokenException": "the credentials have expired: refresh them (aws sso login, or the role session)",
    "DecryptionFailure": "the secret's KMS key cannot be used: grant kms:Decrypt on that key to this role",
    "KMSAccessDeniedException": "grant kms:Decrypt on the secret's KMS key to this role",
    "InvalidRequestException": "the secret is deleted or scheduled for deletion: "
    "restore it with `aws secretsmanager restore-secret --secret-id ID`",
    "ThrottlingException": "Secrets Manager throttled every retry: too many requests at once; stagger starts",
    "InternalServiceError": "Secrets Manager answered with a server error; it is usually brief, retry",
    "NoCredentials": "no AWS credentials found: run `aws sts get-caller-identity`; in ECS/EC2 attach a task "
    "or instance role; locally run `aws configure` or set AWS_PROFILE",
    "NoRegion": "no AWS region is configured: set AWS_REGION, or map the secret by its full ARN",
    "EndpointConnectionError": _NETWORK,
    "ConnectTimeout": _NETWORK,
    "ReadTimeout": _NETWORK,
    "Timeout": "no answer within --timeout: " + _NETWORK,
    "CredentialRetrievalError": "the credential provider failed: check the container or instance role endpoint",
}
_DEFAULT_HINT = "run `calitho-env check` for details"


def hint_for(code: str) -> str:
    return _HINTS.get(code, _DEFAULT_HINT)


class FetchFailure(NamedTuple):
    code: str  # the AWS error code, or NoCredentials / NoRegion / Timeout / EndpointConnectionError ...
    message: str  # the SDK's message; it never carries a secret value

    @property
    def hint(self) -> str:
        return hint_for(self.code)


class FetchResult(NamedTuple):
    request: SecretRequest
    outcome: FetchedSecret | FetchFailure
    elapsed_ms: float

    @property
    def secret(self) -> FetchedSecret | None:
        return self.outcome if isinstance(self.outcome, FetchedSecret) else None

    @property
    def failure(self) -> FetchFailure | None:
        return self.outcome if isinstance(self.outcome, FetchFailure) else None


# Fetch every request concurrently; one result each, within `timeout` seconds.
SecretFetcher = Callable[[Sequence[SecretRequest], float], list[FetchResult]]
