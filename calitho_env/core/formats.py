"""`print` formats: dotenv, json, shell, table. Pure text functions."""

from __future__ import annotations

import json
from collections.abc import Sequence

from calitho_env.core.bindings import Binding
from calitho_env.errors import ConfigurationError

FORMATS = ("dotenv", "json", "shell", "table")
MASK = "********"


def masked(value: str) -> str:
    return MASK if value else ""


def render(bindings: Sequence[Binding], format_name: str, mask: bool) -> str:
    if format_name == "table":
        return _table(bindings)
    values = [(b.name, masked(b.value) if mask else b.value) for b in bindings]
    if format_name == "json":
        return json.dumps(dict(values), ensure_ascii=False, indent=2) + "\n"
    if format_name == "shell":
        return "".join(f"export {name}={shell_quote(value)}\n" for name, value in values)
    return "".join(f"{name}={dotenv_quote(name, value)}\n" for name, value in values)


def shell_quote(value: str) -> str:
    """POSIX single quotes: nothing inside is special, and ' is written '\\''."""
    return "'" + value.replace("'", "'\\''") + "'"


def dotenv_quote(name: str, value: str) -> str:
    """A form that python-dotenv (interpolate=False) and Node's dotenv both read back as `value`.

    Single quotes: neither unescapes (python-dotenv only \\\\ and \\'), Node turns CR into LF.
    Double quotes: both turn \\n and \\r into LF and CR; Node keeps every other backslash.
    Unquoted: Node stops at #, both trim, a leading quote would start a quoted value.
    """
    if value == "":
        return ""
    if "'" not in value and "\r" not in value and "\\\\" not in value and not value.endswith("\\"):
        return f"'{value}'"
    if '"' not in value and "\\" not in value:
        return '"' + value.replace("\n", "\\n").replace("\r", "\\r") + '"'
    if (
        not any(c in value for c in "#\n\r")
        and not _is_edge_space(value[0])
        and not _is_edge_space(value[-1])
        and value[0] not in "'\"`"
    ):
        return value
    raise ConfigurationError(
        f"the value of {name} cannot be written in dotenv form so that both python-dotenv and Node's dotenv "
        "read it back unchanged",
        hint="use --format json or --format shell for this variable",
    )


def _is_edge_space(char: str) -> bool:
    """Whitespace that python-dotenv (str.isspace) or JavaScript's trim() would strip."""
    return char.isspace() or char == "\ufeff"


def printable(text: str) -> str:
    """For a terminal: control characters (an escape sequence, an OSC 52 clipboard write) as \\xNN."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _table(bindings: Sequence[Binding]) -> str:
    rows = [("NAME", "SOURCE", "VALUE")] + [
        (printable(b.name), printable(str(b.source)), printable(masked(b.value))) for b in bindings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "".join(f"{n:<{widths[0]}}  {s:<{widths[1]}}  {v}".rstrip() + "\n" for n, s, v in rows)
