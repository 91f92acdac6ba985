"""Writing secrets: what `setup` and `rotate` do to Secrets Manager.

Callers pass a client from `aws.AwsSession`; SDK errors become CalithoErrors with the
seed's hints. Values are compared and written, never printed.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from calitho_env.errors import CalithoError, ConfigurationError
from calitho_env.fetching import FetchFailure
from calitho_env.variables import is_valid_name

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

_GENERATED_ALPHABET = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class SeedSecret:
    """One of the seed's secrets: its default name, its key, its mapping variable and description."""

    default_name: str
    key: str
    mapping: str
    description: str


SEED_SECRETS = (
    SeedSecret("calitho-suite/database", "DATABASE_URL", "AWS_SECRET_DATABASE", "Calitho Suite database connection"),
    SeedSecret("calitho-suite/nextauth", "NEXTAUTH_SECRET", "AWS_SECRET_NEXTAUTH", "Calitho Suite NextAuth JWT secret"),
    SeedSecret("calitho-suite/redis", "REDIS_URL", "AWS_SECRET_REDIS", "Calitho Suite Redis connection"),
)


class Change(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT = "kept (holds a different value; not replaced)"
    MISSING = "skipped (no value given, and the secret holds none)"


@dataclass(frozen=True)
class Upsert:
    secret_id: str
    change: Change
    version_id: str | None = None


def generate_value(length: int = 48) -> str:
    """A random value from letters, digits, '-' and '_' (as safe in a URL as in a .env file)."""
    return "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(length))


def _sdk_error(action: str, secret_id: str, error: Exception) -> CalithoError:
    from calitho_env.aws import failure_of

    failure: FetchFailure = failure_of(error)
    return CalithoError(f"{action} {secret_id} failed: {failure.code}: {failure.message}", failure.hint)


def _current_object(client: SecretsManagerClient, secret_id: str) -> dict[str, Any] | None:
    """The secret's JSON object, or None when the secret does not exist."""
    from botocore.exceptions import ClientError

    try:
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise _sdk_error("reading", secret_id, error) from None
    try:
        data = json.loads(response.get("SecretString") or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConfigurationError(f"secret {secret_id} is not a JSON object; it was left as it is")
    return data


def upsert(
    client: SecretsManagerClient,
    secret_id: str,
    key: str,
    value: str | None,
    description: str,
    *,
    kms_key_id: str | None,
    tags: Mapping[str, str],
    may_replace: Callable[[], bool],
) -> Upsert:
    """Create the secret, or set `key` in its JSON object (other keys kept); ask before replacing a value.

    `value` None means "keep what the secret holds", so a second run with the values
    already migrated out of .env changes nothing.
    """
    from botocore.exceptions import ClientError

    tag_list: Any = [{"Key": k, "Value": v} for k, v in tags.items()]
    current = _current_object(client, secret_id)
    if value is None:
        held = current is not None and key in current
        return Upsert(secret_id, Change.UNCHANGED if held else Change.MISSING)
    try:
        if current is None:
            extra: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
            if tag_list:
                extra["Tags"] = tag_list
            created = client.create_secret(
                Name=secret_id, Description=description, SecretString=json.dumps({key: value}), **extra
            )
            return Upsert(secret_id, Change.CREATED, created.get("VersionId"))
        if tag_list:
            client.tag_resource(SecretId=secret_id, Tags=tag_list)
        if current.get(key) == value:
            return Upsert(secret_id, Change.UNCHANGED)
        if key in current and not may_replace():
            return Upsert(secret_id, Change.KEPT)
        if kms_key_id:
            client.update_secret(SecretId=secret_id, KmsKeyId=kms_key_id)
        put = client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({**current, key: value}))
        return Upsert(secret_id, Change.UPDATED, put.get("VersionId"))
    except ClientError as error:
        raise _sdk_error("writing", secret_id, error) from None


def rotate_key(client: SecretsManagerClient, secret_id: str, key: str, value: str) -> str:
    """Put a new version with only `key` changed; AWSPREVIOUS then holds the old one. Returns the version id."""
    from botocore.exceptions import ClientError

    if not is_valid_name(key):
        raise ConfigurationError(f"{key!r} is not a valid variable name", hint="names match [A-Za-z_][A-Za-z0-9_]*")
    if "\x00" in value:
        raise ConfigurationError(f"the new value of {key} contains a NUL character")
    current = _current_object(client, secret_id)
    if current is None:
        raise CalithoError(f"secret {secret_id} does not exist", hint="create it with `calitho-env setup`")
    if key not in current:
        raise ConfigurationError(
            f"secret {secret_id} has no key {key}; rotate changes an existing key (keys: {', '.join(sorted(current))})"
        )
    try:
        put = client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({**current, key: value}))
    except ClientError as error:
        raise _sdk_error("writing", secret_id, error) from None
    return str(put["VersionId"])
