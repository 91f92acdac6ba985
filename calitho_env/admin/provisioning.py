"""Writing secrets: what `setup` and `rotate` do to Secrets Manager.

Values are compared and written, never printed. A write changes one key of the secret's JSON
text and keeps every other byte (`1.50` stays `1.50`). Secrets Manager has no compare-and-swap,
so after each write we check that the version we replaced is one whose content we had seen;
if another writer slipped in between, its version is read, the key applied to it, and written
again.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from calitho_env.core.bindings import require_valid
from calitho_env.errors import AwsError, CalithoError, ConfigurationError

if TYPE_CHECKING:
    from calitho_env.aws.secretsmanager import SecretStore, StoredSecret

_GENERATED_ALPHABET = string.ascii_letters + string.digits + "-_"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Spans only: numbers stay text, so a 5,000-digit integer is no error.
_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
WRITE_ATTEMPTS = 10
PENDING = "calitho-env-pending"  # the label of a version not yet made current
_UNANSWERED = frozenset({"Timeout", "ReadTimeout", "ConnectionClosedError"})  # a write that may have landed


class Change(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT = "kept (holds a different value; not replaced)"
    DECLINED = "kept (you chose not to replace its value)"
    MISSING = "skipped (no value given, and the secret holds none)"


class Upsert(NamedTuple):
    secret_id: str
    change: Change
    version_id: str | None = None
    arn: str | None = None


def generate_value(length: int = 48) -> str:
    """A random value from letters, digits, '-' and '_' (as safe in a URL as in a .env file)."""
    return "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(length))


def _skip_space(text: str, at: int) -> int:
    match = _WHITESPACE.match(text, at)
    assert match is not None  # it matches the empty string anywhere
    return match.end()


class JsonObject:
    """A secret's JSON object as text, with where each top-level value stands in it."""

    def __init__(self, secret_id: str, text: str | None) -> None:
        self.secret_id = secret_id
        self.text = text or ""
        self.values: dict[str, str] = {}  # key -> its value's JSON text
        self._spans: dict[str, tuple[int, int]] = {}
        try:
            self._end = self._scan()
        except (ValueError, IndexError, RecursionError):
            raise ConfigurationError(f"secret {secret_id} is not a JSON object; it was left as it is") from None

    def _scan(self) -> int:
        """Index of the closing brace, recording each key's span (a repeated key: the last, as JSON reads it)."""
        text = self.text
        at = _skip_space(text, 0)
        if text[at] != "{":
            raise ValueError("not an object")
        at = _skip_space(text, at + 1)
        while text[at] != "}":
            if text[at] != '"':
                raise ValueError("a key must be a string")
            key, at = _DECODER.raw_decode(text, at)
            at = _skip_space(text, at)
            if text[at] != ":":
                raise ValueError("':' expected")
            start = _skip_space(text, at + 1)
            _, at = _DECODER.raw_decode(text, start)
            self._spans[key] = (start, at)
            self.values[key] = text[start:at]
            at = _skip_space(text, at)
            if text[at] == ",":
                at = _skip_space(text, at + 1)
            elif text[at] != "}":
                raise ValueError("',' or '}' expected")
        if text[at + 1 :].strip():
            raise ValueError("text after the object")
        return at

    def holds(self, key: str, value: str) -> bool:
        return key in self.values and _DECODER.decode(self.values[key]) == value

    def with_keys(self, changes: Mapping[str, str]) -> str:
        """The text with each key set; every other byte as it was."""
        text = self.text
        for key, value in changes.items():
            text = JsonObject(self.secret_id, text).with_key(key, value)
        return text

    def with_key(self, key: str, value: str) -> str:
        """The text with `key` set to `value`; every other byte as it was."""
        encoded = json.dumps(value, ensure_ascii=False)
        if key in self._spans:
            start, end = self._spans[key]
            return self.text[:start] + encoded + self.text[end:]
        if not self._spans:
            return self.text[: self._end] + f"{json.dumps(key)}: {encoded}" + self.text[self._end :]
        last = max(end for _, end in self._spans.values())
        return self.text[:last] + f", {json.dumps(key)}: {encoded}" + self.text[last:]


def _ignore(message: str) -> None:
    """Where a warning goes when the caller has nobody to tell."""


def _remove_label_command(secret_id: str, version: str) -> str:
    return (
        f"aws secretsmanager update-secret-version-stage --secret-id {secret_id} "
        f"--version-stage {PENDING} --remove-from-version-id {version}"
    )


def _label_left(secret_id: str, version: str, error: AwsError) -> str:
    """The write is done (the new version is AWSCURRENT); only our own label is still on it."""
    return (
        f"{secret_id}: the new version {version} is AWSCURRENT, but removing the label {PENDING} from it failed "
        f"(UpdateSecretVersionStage: {error.code}); it is harmless and the next write moves it; "
        f"to remove it now: {_remove_label_command(secret_id, version)}"
    )


def _not_made_current(store: SecretStore, secret_id: str, version: str, current: str, error: AwsError) -> CalithoError:
    """Moving AWSCURRENT failed: take our label off the unused version, or say how to finish or undo by hand."""
    if error.code in _UNANSWERED:  # the move may have landed: say how to find out, touch nothing more
        return AwsError(
            f"secret {secret_id}: no answer to making the new version {version} current "
            f"(UpdateSecretVersionStage: {error.code}); it may or may not be AWSCURRENT",
            error.code,
            hint=f"`calitho-env versions {secret_id}` shows which version is AWSCURRENT; if it is still {current}, "
            f"undo with: {_remove_label_command(secret_id, version)}",
        )
    failed = (
        f"secret {secret_id} was not changed: making the new version current failed "
        f"(UpdateSecretVersionStage: {error.code})"
    )
    try:
        store.move_stage(secret_id, PENDING, None, version)
    except AwsError:
        return AwsError(
            f"{failed}; the new version {version} holds the new value under the label {PENDING} "
            f"and removing that label failed too",
            error.code,
            hint=f"to finish: aws secretsmanager update-secret-version-stage --secret-id {secret_id} "
            f"--version-stage AWSCURRENT --move-to-version-id {version} --remove-from-version-id {current}; "
            f"to undo: {_remove_label_command(secret_id, version)}",
        )
    return AwsError(
        f"{failed}; the new version {version} was left without a label (AWSCURRENT is still {current})",
        error.code,
        hint=error.hint,
    )


def write_keys(
    store: SecretStore,
    secret_id: str,
    stored: StoredSecret,
    changes: Mapping[str, str],
    warn: Callable[[str], None] = _ignore,
) -> str:
    """Make a version of `stored` with `changes` applied the current one, unless another writer got there first.

    The new version is put under a label of our own, then AWSCURRENT is moved to it from the
    version we read: that move fails if AWSCURRENT has moved on, and then we read the newer
    version and apply the changes to it instead. No writer's version is ever replaced unseen.
    """
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:  # writers that collided must not collide again in step
            time.sleep(random.uniform(0, 0.05 * attempt))
            latest = store.read(secret_id)
            if latest is None:
                break
            stored = latest
        text = JsonObject(secret_id, stored.secret_string).with_keys(changes)
        version = store.put(secret_id, text, PENDING)
        try:
            moved = store.move_stage(secret_id, "AWSCURRENT", version, stored.version_id)
        except AwsError as error:
            raise _not_made_current(store, secret_id, version, stored.version_id, error) from None
        if moved:
            try:
                store.move_stage(secret_id, PENDING, None, version)  # tidy up; gone already if another writer took it
            except AwsError as error:
                warn(_label_left(secret_id, version, error))
            return version
    raise CalithoError(
        f"secret {secret_id} kept changing under this write ({WRITE_ATTEMPTS} tries)",
        hint="another setup or rotate is writing it at the same time: let it finish, then run this again",
    )


def upsert(
    store: SecretStore,
    secret_id: str,
    stored: StoredSecret | None,
    values: Mapping[str, str | None],
    description: str,
    *,
    kms_key_id: str | None,
    tags: Mapping[str, str],
    may_replace: Callable[[str], bool],
) -> Upsert:
    """Create the secret, or set these keys in its JSON object (other keys kept); ask before replacing a value.

    A value None means "keep what the secret holds", so a second run with the values already
    migrated out of .env changes nothing. `stored` is what the caller read of the secret.
    """
    given = {key: value for key, value in values.items() if value is not None}
    if stored is None:
        if not given:
            return Upsert(secret_id, Change.MISSING)
        try:
            version, arn = store.create(secret_id, json.dumps(given), description, kms_key_id, tags)
        except AwsError as error:
            if error.code != "ResourceExistsException":
                raise
            raise CalithoError(
                f"secret {secret_id} was created by another run while this one was creating it; nothing was written",
                hint="run setup again: it will update the secret that now exists",
            ) from None
        return Upsert(secret_id, Change.CREATED, version, arn)
    current = JsonObject(secret_id, stored.secret_string)
    if any(key not in current.values for key, value in values.items() if value is None):
        return Upsert(secret_id, Change.MISSING, arn=stored.arn)
    if tags:
        store.tag(secret_id, tags)
    changes = {key: value for key, value in given.items() if not current.holds(key, value)}
    if not changes:
        return Upsert(secret_id, Change.UNCHANGED, arn=stored.arn)
    held = [key for key in changes if key in current.values]
    declined = [key for key in held if not may_replace(key)]
    if declined:
        return Upsert(secret_id, Change.KEPT, arn=stored.arn)
    if kms_key_id:
        store.set_kms_key(secret_id, kms_key_id)
    return Upsert(secret_id, Change.UPDATED, write_keys(store, secret_id, stored, changes), stored.arn)


def rotate_key(store: SecretStore, secret_id: str, key: str, value: str, warn: Callable[[str], None] = _ignore) -> str:
    """Put a new version with only `key` changed; AWSPREVIOUS then holds the old one. Returns the version id."""
    require_valid(key, value, "the new value")
    stored = store.read(secret_id)
    if stored is None:
        raise CalithoError(f"secret {secret_id} does not exist", hint="create it with `calitho-env setup`")
    current = JsonObject(secret_id, stored.secret_string)
    if key not in current.values:
        raise ConfigurationError(
            f"secret {secret_id} has no key {key}; rotate changes an existing key "
            f"(keys: {', '.join(sorted(current.values))})"
        )
    return write_keys(store, secret_id, stored, {key: value}, warn)
