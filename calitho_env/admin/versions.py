"""A secret's versions, and making the previous one current again: what `versions` and `rollback` do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from calitho_env.core.formats import printable
from calitho_env.errors import CalithoError

if TYPE_CHECKING:
    from calitho_env.aws.secretsmanager import SecretStore, SecretVersion


class RolledBack(NamedTuple):
    current: str  # the version that is AWSCURRENT now (it was AWSPREVIOUS)
    previous: str  # the version that was AWSCURRENT and is AWSPREVIOUS now


def secret_versions(store: SecretStore, secret_id: str) -> list[SecretVersion]:
    """Every labelled version, newest first. Values are never read."""
    found = store.versions(secret_id)
    if found is None:
        raise CalithoError(f"secret {secret_id} does not exist", hint="create it with `calitho-env setup`")
    oldest = datetime.min.replace(tzinfo=UTC)
    # Dates are to the second: within one, AWSCURRENT comes first, then AWSPREVIOUS.
    return sorted(
        found,
        key=lambda version: (
            version.created or oldest,
            "AWSCURRENT" in version.stages,
            "AWSPREVIOUS" in version.stages,
        ),
        reverse=True,
    )


def version_table(versions: list[SecretVersion]) -> str:
    """VERSION ID, STAGES, CREATED (UTC): one version a line, columns aligned."""
    rows = [("VERSION ID", "STAGES", "CREATED")]
    for version in versions:
        created = version.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if version.created else "-"
        # Labels are anyone's text (with UpdateSecretVersionStage): an escape sequence or a newline is shown, not run.
        rows.append((printable(version.version_id), printable(",".join(version.stages)) or "-", created))
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows)


def roll_back(store: SecretStore, secret_id: str) -> RolledBack:
    """Move AWSCURRENT back to the AWSPREVIOUS version, only from the version we saw holding it.

    Secrets Manager then labels the version that was current AWSPREVIOUS: a second rollback undoes the first.
    """
    versions = secret_versions(store, secret_id)
    current = next((version for version in versions if "AWSCURRENT" in version.stages), None)
    previous = next((version for version in versions if "AWSPREVIOUS" in version.stages), None)
    if current is None or previous is None:
        raise CalithoError(
            f"secret {secret_id} has no {'AWSPREVIOUS' if current else 'AWSCURRENT'} version: nothing to roll back to",
            hint=f"`calitho-env versions {secret_id}` lists its versions and their labels",
        )
    if not store.move_stage(secret_id, "AWSCURRENT", previous.version_id, current.version_id):
        raise CalithoError(
            f"secret {secret_id} changed while rolling back (AWSCURRENT left {current.version_id}); nothing changed",
            hint=f"another write got there first: see `calitho-env versions {secret_id}`, then decide again",
        )
    return RolledBack(previous.version_id, current.version_id)
