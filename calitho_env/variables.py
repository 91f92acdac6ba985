"""What a variable calitho-env may inject looks like (SPEC §9)."""

from __future__ import annotations

import re

from calitho_env.errors import ConfigurationError

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Keys a secret may not set: they would change which program runs or how it links.
_PROTECTED_NAMES = frozenset({"PATH", "HOME"})
_PROTECTED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")


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
