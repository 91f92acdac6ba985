"""What a secret fetch gives: the fetched secret (and the variables it turns into), or a failure with its fix.

Pure: nothing here talks to AWS. A secret that was fetched but has the wrong shape is a
configuration error, never a silent fallback. Messages name secrets and keys, never values.
The fix hints follow docs/troubleshooting.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from calitho_env.core.bindings import VARIABLE_NAME, SecretSource, describe_unlike, is_valid_name, require_valid
from calitho_env.core.secret_requests import SECRET, SecretRequest
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
_CREDENTIALS = (
    "the credential provider failed: check the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*), "
    "the profile's credential_process, or the instance metadata service"
)
_HINTS = {
    "ResourceNotFoundException": _NOT_FOUND,
    "ParameterNotFound": "verify the parameter name matches exactly (with its leading /), check the AWS region "
    "is correct, ensure IAM permissions (ssm:GetParameters) are set",
    "ParameterVersionNotFound": "check the parameter's version",
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
    "InvalidResponse": "something between here and Secrets Manager answered instead of it (a proxy, a captive "
    "portal, a wrong endpoint): check HTTPS_PROXY, AWS_ENDPOINT_URL_SECRETS_MANAGER and the VPC endpoint",
    "CredentialRetrievalError": _CREDENTIALS,
    "CredentialsTimeout": _CREDENTIALS + "; or raise --timeout",
    "STSUnreachable": "STS could not be reached (the identity is only information): set AWS_ENDPOINT_URL_STS, "
    "or add an STS VPC endpoint in a private subnet",
}
_DEFAULT_HINT = "run `calitho-env check` for details"
_PARAMETER_NETWORK = (
    "Parameter Store could not be reached: check the network or its VPC endpoint (ssm), "
    "AWS_ENDPOINT_URL_SSM if set, and --timeout"
)
_PARAMETER_DENIED = (
    "check IAM permissions, verify AWS credentials are configured, ensure the IAM role/user has "
    "ssm:GetParameters (a path: ssm:GetParametersByPath) on it, and kms:Decrypt for a SecureString's key"
)
# Parameter Store's own fixes, where Secrets Manager's would send the reader to the wrong service.
_PARAMETER_HINTS = {
    "AccessDeniedException": _PARAMETER_DENIED,
    "AccessDenied": _PARAMETER_DENIED,
    "ThrottlingException": "Parameter Store throttled every retry: too many requests at once; stagger starts",
    "InternalServerError": "Parameter Store answered with a server error; it is usually brief, retry",
    "EndpointConnectionError": _PARAMETER_NETWORK,
    "ConnectTimeout": _PARAMETER_NETWORK,
    "ReadTimeout": _PARAMETER_NETWORK,
    "Timeout": "no answer within --timeout: " + _PARAMETER_NETWORK,
    "InvalidResponse": "something between here and Parameter Store answered instead of it (a proxy, a captive "
    "portal, a wrong endpoint): check HTTPS_PROXY, AWS_ENDPOINT_URL_SSM and the VPC endpoint",
    "NoRegion": "no AWS region is configured: set AWS_REGION",
}


def hint_for(code: str) -> str:
    return _HINTS.get(code, _DEFAULT_HINT)


_UNREACHABLE = frozenset({"EndpointConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"})


def sts_hint(code: str) -> str:
    """The fix for a failed GetCallerIdentity: STS's own endpoint when it could not be reached."""
    return hint_for("STSUnreachable" if code in _UNREACHABLE else code)


class FetchFailure(NamedTuple):
    code: str  # the AWS error code, or NoCredentials / NoRegion / Timeout / EndpointConnectionError ...
    message: str  # the SDK's message; it never carries a secret value

    @property
    def hint(self) -> str:
        return hint_for(self.code)

    def hint_about(self, request: SecretRequest) -> str:
        """The fix for this failure of this request: Parameter Store's own for a parameter or a path."""
        if request.kind != SECRET:
            return _PARAMETER_HINTS.get(self.code) or self.hint
        return self.hint


class CurrentVersion(NamedTuple):
    """What DescribeSecret says of a secret's versions, for `run --watch`."""

    version_id: str  # the one that holds AWSCURRENT
    others: frozenset[str]  # the other labelled versions (AWSPREVIOUS, AWSPENDING, ...)


class FetchResult(NamedTuple):
    request: SecretRequest
    outcome: FetchedSecret | FetchedPath | FetchFailure
    elapsed_ms: float
    failovers: tuple[tuple[str, str], ...] = ()  # (region, error code) of each region that failed first
    region: str | None = None  # where the answer came from

    @property
    def secret(self) -> FetchedSecret | FetchedPath | None:
        return None if isinstance(self.outcome, FetchFailure) else self.outcome

    @property
    def failure(self) -> FetchFailure | None:
        return self.outcome if isinstance(self.outcome, FetchFailure) else None


# Fetch every request concurrently; one result each, within `timeout` seconds.
SecretFetcher = Callable[[Sequence[SecretRequest], float], list[FetchResult]]


class FetchedSecret(NamedTuple):
    """What GetSecretValue (or GetParameters, for one parameter) returned, reduced to what resolution needs."""

    secret_id: str
    version_id: str | None
    secret_string: str | None  # None when the secret is binary
    service: str = "aws"  # "ssm" for a Parameter Store parameter
    replica_region: str | None = None  # the replica it came from, after a failover

    def source_of(self, variable: str) -> SecretSource:
        return SecretSource(self.secret_id, self.version_id, self.service, self.replica_region)

    def describe(self) -> str:
        return str(self.source_of(""))

    def variables(self) -> dict[str, str]:
        """Every key of the secret's JSON object as a variable; null values are skipped."""
        data = _load(self)
        if isinstance(data, _NotJson) and data.malformed:
            raise ConfigurationError(
                f"secret {self.secret_id} holds malformed JSON: {data.reason} "
                f"at line {data.line}, column {data.column}",
                hint='fix the JSON at that place; the secret must be one object, {"NAME": "value", ...}',
            )
        if not isinstance(data, dict):
            kind = "a plain string" if isinstance(data, _NotJson) else f"a JSON {_json_kind(data)}"
            whole = (
                "; or, to use the whole SecretString as one variable, reference it instead of mapping it: "
                "NAME=<the secret's ARN> in an env file"
            )
            raise ConfigurationError(
                f"secret {self.secret_id} is {kind}, not a JSON object",
                hint='store it as {"NAME": "value", ...}, the shape `setup` creates'
                + (whole if kind in ("a plain string", "a JSON string") else ""),
            )
        found = {}
        for key, value in data.items():
            if value is None:
                continue
            if not is_valid_name(key):
                raise ConfigurationError(
                    f"secret {self.secret_id}: the key {_key_for_people(key)} is not a variable name",
                    hint="rename the key in the secret: each key of its JSON object becomes a variable, so it must "
                    "match [A-Za-z_][A-Za-z0-9_]* (e.g. DATABASE_URL)",
                )
            rendered = _render(value, f"secret {self.secret_id}")
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
            _require_encodable(self.secret_string, where)
            return self.secret_string
        data = _load(self)
        if not isinstance(data, dict):
            raise ConfigurationError(f"{where}: the secret is not a JSON object, so it has no key {json_key!r}")
        if json_key not in data or data[json_key] is None:
            raise ConfigurationError(
                f"{where}: the secret has no key {json_key!r}", hint="check the json-key part of the ARN"
            )
        value = _render(data[json_key], where)
        require_valid(variable, value, where)
        return value


class FetchedPath(NamedTuple):
    """Every parameter under a path (GetParametersByPath, recursive): each becomes a variable named
    by its last segment, upper-cased, with '-' and '.' as '_'."""

    secret_id: str  # the path
    parameters: tuple[tuple[str, str, str], ...]  # (name, value, version)
    replica_region: str | None = None
    version_id: str | None = None  # a path has no single version

    def variables(self) -> dict[str, str]:
        named: dict[str, str] = {}
        found: dict[str, str] = {}
        for name, value, _ in self.parameters:
            variable = variable_of_parameter(name)
            if not is_valid_name(variable):
                raise ConfigurationError(
                    f"parameter {name} (under {self.secret_id}): its last segment does not make a variable name",
                    hint="name the parameter with letters, digits, '_', '-' or '.', not starting with a digit",
                )
            if variable in named:
                raise ConfigurationError(
                    f"parameters {named[variable]} and {name} (under {self.secret_id}) both make {variable}",
                    hint="rename one of them, or map the narrower path",
                )
            require_valid(variable, value, f"parameter {name}")
            _require_encodable(value, f"parameter {name}")
            named[variable] = name
            found[variable] = value
        return found

    def source_of(self, variable: str) -> SecretSource:
        for name, _, version in self.parameters:
            if variable_of_parameter(name) == variable:
                return SecretSource(name, version, "ssm", self.replica_region)
        return SecretSource(self.secret_id, None, "ssm", self.replica_region)

    def describe(self) -> str:
        return f"ssm:{self.secret_id} ({len(self.parameters)} parameters)"

    def referenced_value(self, json_key: str | None, variable: str) -> str:
        raise ConfigurationError(f"{variable}: a parameter path is mapped with AWS_SSM_PATH_*, not referenced")


def variable_of_parameter(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1].upper().replace("-", "_").replace(".", "_")


class _JsonNumber(str):
    """A JSON number kept as its original text (1.50 stays '1.50')."""


def _load(secret: FetchedSecret) -> Any:
    if secret.secret_string is None:
        raise ConfigurationError(
            f"secret {secret.secret_id} is binary (SecretBinary), not a JSON object",
            hint="store the secret as a JSON object in SecretString",
        )
    try:
        # Numbers stay their text at every depth: 2.50 stays 2.50, 1e400 never becomes Infinity,
        # and a 5,000-digit integer is never converted (Python limits int() to 4,300 digits).
        return json.loads(
            secret.secret_string,
            parse_int=_JsonNumber,
            parse_float=_JsonNumber,
            parse_constant=_JsonNumber,
        )
    except json.JSONDecodeError as error:  # its msg is a fixed phrase; the text it quotes is never shown
        malformed = secret.secret_string.lstrip().startswith(("{", "["))
        return _NotJson(malformed, error.msg.removesuffix(" at"), error.lineno, error.colno)
    except ValueError:
        return _NotJson(False, "not JSON", 1, 1)
    except RecursionError:
        raise ConfigurationError(
            f"secret {secret.secret_id} is nested too deeply to read", hint="store a flat JSON object of strings"
        ) from None


class _NotJson(NamedTuple):
    """Why a SecretString is not JSON, and where: never any of its text."""

    malformed: bool  # it starts as JSON does: a broken object rather than a plain string
    reason: str
    line: int
    column: int


# A key is a name: shown when it looks like one with a typo (short, plain characters), else described.
_NAME_LIKE = re.compile(r"[A-Za-z0-9_.\- ]{1,64}")


def _key_for_people(key: str) -> str:
    if _NAME_LIKE.fullmatch(key):
        return repr(key)
    return f"of {len(key)} characters ({describe_unlike(key, VARIABLE_NAME)})"


def _render(value: Any, where: str) -> str:
    """Strings as they are, numbers as their JSON text, arrays and objects as compact JSON."""
    try:
        rendered = value if isinstance(value, str) else _compact(value)
    except RecursionError:
        raise ConfigurationError(
            f"{where}: a value is nested too deeply to carry", hint="store a flat JSON object of strings"
        ) from None
    _require_encodable(rendered, where)
    return str(rendered)


class _Text(str):
    """Output written as it is: brackets, separators, numbers."""


def _compact(value: Any) -> str:
    """json.dumps with separators=(",", ":"), but numbers written as they were stored.

    With a stack instead of recursion: whatever depth json.loads accepted is written out.
    """
    out: list[str] = []
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _Text | _JsonNumber):
            out.append(str.__str__(item))
        elif isinstance(item, str):
            out.append(json.dumps(item, ensure_ascii=False))
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif item is None:
            out.append("null")
        elif isinstance(item, list):
            parts: list[Any] = [_Text("[")]
            for index, element in enumerate(item):
                parts += [_Text(",")] * (index > 0) + [element]
            pending += reversed([*parts, _Text("]")])
        else:
            parts = [_Text("{")]
            for index, (key, element) in enumerate(item.items()):
                parts += [_Text(("," if index else "") + json.dumps(key, ensure_ascii=False) + ":"), element]
            pending += reversed([*parts, _Text("}")])
    return "".join(out)


def _require_encodable(value: str, where: str) -> None:
    """A lone surrogate (JSON allows \\ud800) has no UTF-8 form: the child could not be given it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"{where}: a value holds a lone UTF-16 surrogate, which no environment can carry",
            hint="fix the value's \\u escapes at its source",
        ) from None


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "array"
    if isinstance(data, bool):
        return "boolean"
    if isinstance(data, str) and not isinstance(data, _JsonNumber):
        return "string"
    return "number" if data is not None else "null"
