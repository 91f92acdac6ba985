"""What a secret fetch gives: the fetched secret (and the variables it turns into), or a failure with its fix.

Pure: nothing here talks to AWS. A secret that was fetched but has the wrong shape is a
configuration error, never a silent fallback. Messages name secrets and keys, never values.
The fix hints follow the Troubleshooting section of the README.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from calitho_env.core.bindings import require_valid
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.errors import ConfigurationError

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


class FetchedSecret(NamedTuple):
    """What GetSecretValue returned, reduced to what resolution needs."""

    secret_id: str
    version_id: str | None
    secret_string: str | None  # None when the secret is binary

    def variables(self) -> dict[str, str]:
        """Every key of the secret's JSON object as a variable; null values are skipped."""
        data = _load(self)
        if not isinstance(data, dict):
            kind = "not JSON" if data is _NOT_JSON else f"a JSON {_json_kind(data)}"
            raise ConfigurationError(
                f"secret {self.secret_id} is {kind}, not a JSON object",
                hint='store it as {"NAME": "value", ...}, the shape `setup` creates',
            )
        assert self.secret_string is not None
        found = {}
        for key, value in data.items():
            if value is None:
                continue
            rendered = _render(value, self.secret_string, key)
            require_valid(key, rendered, f"secret {self.secret_id}")
            found[key] = rendered
        return found

    def referenced_value(self, json_key: str | None, variable: str) -> str:
        """The whole SecretString, or one key of its JSON object, for an ARN reference."""
        where = f"{variable} (reference to {self.secret_id})"
        if json_key is None:
            if self.secret_string is None:
                raise ConfigurationError(f"{where}: the secret is binary", hint="store the value in SecretString")
            require_valid(variable, self.secret_string, where)
            return self.secret_string
        data = _load(self)
        if not isinstance(data, dict):
            raise ConfigurationError(f"{where}: the secret is not a JSON object, so it has no key {json_key!r}")
        if json_key not in data or data[json_key] is None:
            raise ConfigurationError(
                f"{where}: the secret has no key {json_key!r}", hint="check the json-key part of the ARN"
            )
        assert self.secret_string is not None
        value = _render(data[json_key], self.secret_string, json_key)
        require_valid(variable, value, where)
        return value


class _JsonNumber(str):
    """A JSON number kept as its original text (1.50 stays '1.50')."""


def _load(secret: FetchedSecret) -> Any:
    if secret.secret_string is None:
        raise ConfigurationError(
            f"secret {secret.secret_id} is binary (SecretBinary), not a JSON object",
            hint="store the secret as a JSON object in SecretString",
        )
    try:
        return json.loads(
            secret.secret_string,
            parse_int=_JsonNumber,
            parse_float=_JsonNumber,
            parse_constant=_JsonNumber,
        )
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()


def _render(value: Any, original_text: str, key: str) -> str:
    if isinstance(value, str):  # strings, and numbers as their JSON text
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    # Arrays and objects: compact JSON, re-parsed plainly so numbers are numbers again.
    plain = json.loads(original_text)[key]
    return json.dumps(plain, separators=(",", ":"), ensure_ascii=False)


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "array"
    if isinstance(data, bool):
        return "boolean"
    if isinstance(data, str) and not isinstance(data, _JsonNumber):
        return "string"
    return "number" if data is not None else "null"
