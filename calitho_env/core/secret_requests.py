"""Which secrets the configuration asks for: AWS_SECRET_* and AWS_SSM_PATH_* mappings, and ARN
references to Secrets Manager secrets and Parameter Store parameters.

Pure parsing: nothing here talks to AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from calitho_env.core.bindings import Binding, describe_unlike
from calitho_env.errors import ConfigurationError

MAPPING_PREFIX = "AWS_SECRET_"
PATH_MAPPING_PREFIX = "AWS_SSM_PATH_"
# Credentials, not mappings: AWS_SECRET_KEY is the legacy name some SDKs read, and any name that
# starts like one (AWS_SECRET_ACCESS_KEY_OLD, AWS_SECRET_KEY_ID) holds a credential too, which
# must never be sent to AWS as a secret id or printed as one.
_CREDENTIAL_PREFIXES = ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")

# Patterns as strings: `re` compiles each on first use (and caches it), so a launch whose
# configuration has no mapping or reference never pays for compiling them.
_NAME_PATTERN = r"[A-Za-z0-9/_+=.@-]{1,512}"
# A secret an AWS service creates and manages is named `<service-id>!<name>` (rds!db-<uuid>,
# rds!cluster-<uuid>, redshift!..., events!connection/...): users cannot type the `!`, services do.
_MANAGED_NAME_PATTERN = r"(?=.{1,512}\Z)[a-z][a-z0-9-]{1,62}![A-Za-z0-9/_+=.@-]+"
_SECRET_NAME_PATTERN = f"{_NAME_PATTERN}|{_MANAGED_NAME_PATTERN}"
_ARN = (
    r"(?P<base>arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):secret:"
    r"(?P<name>[^:]+))(?::(?P<extra>.*))?"
)
_PARAMETER_ARN = (
    r"arn:aws[a-z-]*:ssm:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):parameter/(?P<name>[^:]+)"
)
_PARAMETER_NAME = r"/?[A-Za-z0-9_.\-/]{1,2048}"
_VERSION_ID = r"[A-Za-z0-9-]{32,64}"
_VERSION_STAGE = r"[A-Za-z0-9_+=.@-]{1,256}"


SECRET, PARAMETER, PATH = "secret", "parameter", "path"  # what a request asks for


class SecretRequest(NamedTuple):
    """One thing to fetch: a Secrets Manager secret (the id as given, the region an ARN pins, the
    version), a Parameter Store parameter (its name), or every parameter under a path."""

    secret_id: str
    region: str | None = None
    version_stage: str | None = None
    version_id: str | None = None
    kind: str = SECRET

    def named(self) -> str:
        """For a sentence: `secret calitho-suite/db`, `parameter /calitho/db`, `parameter path /calitho/`."""
        return self.describe() if self.kind != SECRET else f"secret {self.describe()}"

    def describe(self) -> str:
        if self.kind == PARAMETER:
            return f"parameter {self.secret_id}"
        if self.kind == PATH:
            return f"parameter path {self.secret_id}"
        if self.version_id:
            return f"{self.secret_id} (version {self.version_id})"
        if self.version_stage:
            return f"{self.secret_id} ({self.version_stage})"
        return self.secret_id


class SecretMapping(NamedTuple):
    """AWS_SECRET_<NAME>=<secret-id>: every key of the secret's JSON object becomes a variable."""

    variable: str
    request: SecretRequest


class SecretReference(NamedTuple):
    """NAME=arn:...:secret:ID[:json-key[:stage[:version-id]]]: NAME becomes the secret (or one key)."""

    variable: str
    request: SecretRequest
    json_key: str | None


def is_mapping_name(name: str) -> bool:
    if name.startswith(PATH_MAPPING_PREFIX):
        return True
    return name.startswith(MAPPING_PREFIX) and not name.startswith(_CREDENTIAL_PREFIXES)


def is_reference(value: str) -> bool:
    """An ARN of a Secrets Manager secret or a Parameter Store parameter (any partition)."""
    return value.startswith("arn:aws") and (value.split(":", 3)[2:3] == ["secretsmanager"] or is_parameter_arn(value))


def is_parameter_arn(value: str) -> bool:
    """An ARN of a Parameter Store parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)."""
    parts = value.split(":", 5)
    return value.startswith("arn:aws") and parts[2:3] == ["ssm"] and parts[-1].startswith("parameter/")


def may_be_reference(name: str) -> bool:
    """A variable whose name ends in _ARN holds an ARN for the app's own use, never a reference."""
    return not is_mapping_name(name) and not name.endswith("_ARN")


def find_mappings(bindings: Mapping[str, Binding]) -> list[SecretMapping]:
    """Mappings in name order; an empty value switches a mapping off."""
    mappings = []
    for name in sorted(bindings):
        if not is_mapping_name(name) or not bindings[name].value.strip():
            continue
        where = f"{name} ({bindings[name].source})"
        if name.startswith(PATH_MAPPING_PREFIX):
            mappings.append(SecretMapping(name, _parse_path(name, bindings[name].value.strip(), where)))
            continue
        if name == MAPPING_PREFIX:
            raise ConfigurationError(
                f"{where}: a mapping needs a name after AWS_SECRET_", hint="e.g. AWS_SECRET_DATABASE"
            )
        mappings.append(SecretMapping(name, parse_secret_id(bindings[name].value.strip(), where)))
    return mappings


def find_references(bindings: Mapping[str, Binding]) -> list[SecretReference]:
    references = []
    for name in sorted(bindings):
        value = bindings[name].value
        if not may_be_reference(name) or not is_reference(value):
            continue
        references.append(_parse_reference(name, value, f"{name} ({bindings[name].source})"))
    return references


def parse_secret_id(value: str, where: str) -> SecretRequest:
    if is_reference(value):
        match = re.fullmatch(_ARN, value, re.DOTALL)
        if match is None or match["extra"] is not None or not re.fullmatch(_SECRET_NAME_PATTERN, match["name"]):
            raise ConfigurationError(
                f"{where}: the value is not a secret ARN",
                hint="use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, or just the secret's name",
            )
        return SecretRequest(value, region=match["region"])
    if not re.fullmatch(_SECRET_NAME_PATTERN, value):
        raise ConfigurationError(
            f"{where}: the value is not a secret name ({_what_is_wrong(value)})",
            hint="secret names are 1-512 characters of letters, digits and /_+=.@-; a secret an AWS service "
            "manages starts with its service id and '!' (rds!db-...)",
        )
    return SecretRequest(value)


def _parse_path(name: str, value: str, where: str) -> SecretRequest:
    if name == PATH_MAPPING_PREFIX or not value.startswith("/") or not re.fullmatch(_PARAMETER_NAME, value):
        raise ConfigurationError(
            f"{where}: a path mapping is AWS_SSM_PATH_<NAME>=/a/path/",
            hint="every parameter under the path becomes a variable named by its last segment",
        )
    return SecretRequest(value if value.endswith("/") else value + "/", kind=PATH)


def _parse_parameter_reference(name: str, value: str, where: str) -> SecretReference:
    """NAME=arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, as an ECS task definition's valueFrom."""
    match = re.fullmatch(_PARAMETER_ARN, value)
    if match is None or not re.fullmatch(_PARAMETER_NAME, match["name"]):
        raise ConfigurationError(
            f"{where}: malformed parameter reference",
            hint="the form is arn:aws:ssm:REGION:ACCOUNT:parameter/NAME (a name with / starts with one: parameter/a/b)",
        )
    parameter = "/" + match["name"] if "/" in match["name"] else match["name"]
    return SecretReference(name, SecretRequest(parameter, match["region"], kind=PARAMETER), None)


def _parse_reference(name: str, value: str, where: str) -> SecretReference:
    if is_parameter_arn(value):
        return _parse_parameter_reference(name, value, where)
    match = re.fullmatch(_ARN, value, re.DOTALL)
    extra = (match["extra"] or "") if match else ""
    fields = extra.split(":") if extra else []
    json_key, stage, version_id = ([*fields, "", "", ""])[:3]
    if (
        match is None
        or not re.fullmatch(_SECRET_NAME_PATTERN, match["name"])
        or len(fields) > 3
        or (stage and not re.fullmatch(_VERSION_STAGE, stage))
        or (version_id and not re.fullmatch(_VERSION_ID, version_id))
    ):
        raise ConfigurationError(
            f"{where}: malformed secret reference",
            hint="the form is arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
            "[:json-key[:version-stage[:version-id]]]",
        )
    if stage and version_id:
        raise ConfigurationError(
            f"{where}: a secret reference names a version stage and a version id; give one of them",
            hint="ECS rejects both together too: keep the version id, or the stage (e.g. AWSPREVIOUS)",
        )
    request = SecretRequest(match["base"], match["region"], stage or None, version_id or None)
    return SecretReference(name, request, json_key or None)


def is_managed_secret(secret_id: str) -> bool:
    """A secret an AWS service created and manages (`rds!db-...`), by name or ARN."""
    return re.fullmatch(_MANAGED_NAME_PATTERN, secret_id.split(":secret:", 1)[-1]) is not None


def _what_is_wrong(value: str) -> str:
    """Describe a bad secret name without quoting it: it may be a credential pasted in the wrong place."""
    if len(value) > 512:
        return f"{len(value)} characters, over 512"
    return describe_unlike(value, re.compile(_NAME_PATTERN))
