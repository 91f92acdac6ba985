"""Writing secrets: what `setup` and `rotate` do to Secrets Manager.

Values are compared and written, never printed.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from calitho_env.core.bindings import require_valid
from calitho_env.errors import CalithoError, ConfigurationError

if TYPE_CHECKING:
    from calitho_env.aws.secretsmanager import SecretStore

_GENERATED_ALPHABET = string.ascii_letters + string.digits + "-_"


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


def _current_object(store: SecretStore, secret_id: str) -> dict[str, Any] | None:
    """The secret's JSON object, or None when the secret does not exist."""
    stored = store.read(secret_id)
    if stored is None:
        return None
    try:
        data = json.loads(stored.secret_string or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConfigurationError(f"secret {secret_id} is not a JSON object; it was left as it is")
    return data


def upsert(
    store: SecretStore,
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
    current = _current_object(store, secret_id)
    if value is None:
        held = current is not None and key in current
        return Upsert(secret_id, Change.UNCHANGED if held else Change.MISSING)
    if current is None:
        version = store.create(secret_id, json.dumps({key: value}), description, kms_key_id, tags)
        return Upsert(secret_id, Change.CREATED, version)
    if tags:
        store.tag(secret_id, tags)
    if current.get(key) == value:
        return Upsert(secret_id, Change.UNCHANGED)
    if key in current and not may_replace():
        return Upsert(secret_id, Change.KEPT)
    if kms_key_id:
        store.set_kms_key(secret_id, kms_key_id)
    version = store.put(secret_id, json.dumps({**current, key: value}))
    return Upsert(secret_id, Change.UPDATED, version)


def rotate_key(store: SecretStore, secret_id: str, key: str, value: str) -> str:
    """Put a new version with only `key` changed; AWSPREVIOUS then holds the old one. Returns the version id."""
    require_valid(key, value, "the new value")
    current = _current_object(store, secret_id)
    if current is None:
        raise CalithoError(f"secret {secret_id} does not exist", hint="create it with `calitho-env setup`")
    if key not in current:
        raise ConfigurationError(
            f"secret {secret_id} has no key {key}; rotate changes an existing key (keys: {', '.join(sorted(current))})"
        )
    return store.put(secret_id, json.dumps({**current, key: value}))
