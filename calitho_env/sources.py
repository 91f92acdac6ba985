"""Where a resolved value came from (its provenance)."""

from __future__ import annotations

from typing import NamedTuple


class ProcessSource(NamedTuple):
    def __str__(self) -> str:
        return "process"


class FileSource(NamedTuple):
    path: str
    line: int

    def __str__(self) -> str:
        return f"file:{self.path}:{self.line}"


class SecretSource(NamedTuple):
    secret_id: str
    version_id: str | None

    def __str__(self) -> str:
        suffix = f"@{self.version_id}" if self.version_id else ""
        return f"aws:{self.secret_id}{suffix}"


class FallbackSource(NamedTuple):
    """A referenced secret failed; the value is the next one down the priority."""

    secret_id: str
    underlying: ProcessSource | FileSource

    def __str__(self) -> str:
        return f"fallback:{self.underlying}"


Source = ProcessSource | FileSource | SecretSource | FallbackSource


class Binding(NamedTuple):
    """One variable, its value, and where the value came from."""

    name: str
    value: str
    source: Source
