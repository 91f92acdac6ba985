"""A resolved variable (`Binding`), where its value came from, and the rules for its name and value."""

from __future__ import annotations

import re
from typing import NamedTuple

from calitho_env.errors import ConfigurationError

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Keys a secret may not set: they would change which program runs or how it links.
_PROTECTED_NAMES = frozenset({"PATH", "HOME"})
_PROTECTED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")


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
    """A secret failed; the value is the next one down the priority."""

    secret_id: str
    underlying: ProcessSource | FileSource

    def __str__(self) -> str:
        return f"fallback:{self.underlying}"


Source = ProcessSource | FileSource | SecretSource | FallbackSource
PROCESS = ProcessSource()


class Binding(NamedTuple):
    """One variable, its value, and where the value came from."""

    name: str
    value: str
    source: Source


def is_valid_name(name: str) -> bool:
    return VARIABLE_NAME.fullmatch(name) is not None


def require_valid(name: str, value: str, where: str) -> None:
    """Raise a configuration error naming the variable (never its value)."""
    if not is_valid_name(name):
        raise ConfigurationError(
            f"{where}: {name!r} is not a valid variable name",
            hint="names must match [A-Za-z_][A-Za-z0-9_]*",
        )
    if "\x00" in value:
        raise ConfigurationError(
            f"{where}: the value of {name} contains a NUL character",
            hint="environment values cannot carry NUL; fix the value at its source",
        )


def is_protected(name: str) -> bool:
    return name in _PROTECTED_NAMES or name.startswith(_PROTECTED_PREFIXES)
