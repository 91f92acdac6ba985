"""`print` formats: dotenv, json, shell, table. Pure text functions."""

from __future__ import annotations

import json
from collections.abc import Sequence

from calitho_env.core.bindings import Binding, ComposedSource, FileSource, ProcessSource, SecretSource, is_valid_name
from calitho_env.core.secret_requests import is_mapping_name
from calitho_env.errors import ConfigurationError

FORMATS = ("dotenv", "json", "shell", "docker", "table")
TABLE_WIDTH = 80
MASK = "********"


def masked(value: str) -> str:
    return MASK if value else ""


# Formats whose reader takes a name as code or as a line of its own: an inherited name holding a newline
# or `$(...)` would define another variable or run a command there. JSON quotes any name.
NAMES_AS_WRITTEN = ("dotenv", "shell", "docker")


def writable(bindings: Sequence[Binding], format_name: str) -> tuple[list[Binding], int]:
    """The bindings `format_name` can carry, and how many it cannot: names that are not portable identifiers."""
    if format_name not in NAMES_AS_WRITTEN:
        return list(bindings), 0
    kept = [binding for binding in bindings if is_valid_name(binding.name)]
    return kept, len(bindings) - len(kept)


def render(bindings: Sequence[Binding], format_name: str, mask: bool, wide: bool = False) -> str:
    if format_name == "table":
        return _table(bindings, wide, mask)
    values = [(b.name, masked(b.value) if mask else b.value) for b in bindings]
    if format_name == "json":
        return json.dumps(dict(values), ensure_ascii=False, indent=2) + "\n"
    if format_name == "shell":
        return "".join(f"export {name}={shell_quote(value)}\n" for name, value in values)
    if format_name == "docker":
        return "".join(f"{name}={docker_value(name, value)}\n" for name, value in values)
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


def docker_value(name: str, value: str) -> str:
    """`docker run --env-file` and `kubectl create secret --from-env-file` take everything after the
    first '=' as it is, up to the end of the line: no quotes, no escapes. A line break cannot be
    carried, nor a CR (their line reader drops one at the end), nor bytes that are not UTF-8."""
    if "\n" in value or "\r" in value:
        reason = "a line break"
    elif not _is_utf8(value):
        reason = "bytes that are not UTF-8"
    else:
        return value
    raise ConfigurationError(
        f"the value of {name} holds {reason}, which docker and kubectl env files cannot carry",
        hint="use --format json (e.g. kubectl create secret generic --from-file) for this variable",
    )


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a byte inherited as a surrogate escape
        return False
    return True


def _is_edge_space(char: str) -> bool:
    """Whitespace that python-dotenv (str.isspace) or JavaScript's trim() would strip."""
    return char.isspace() or char == "\ufeff"


def printable(text: str) -> str:
    """For a terminal: control characters (an escape sequence, an OSC 52 clipboard write) as \\xNN."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _table(bindings: Sequence[Binding], wide: bool, mask: bool) -> str:
    """NAME, SOURCE, VALUE for people: values masked (a mapping shows its secret id, which is no
    secret, unless --mask), version ids short and the SOURCE column cut to fit 80 columns unless `wide`."""
    rows = [("NAME", "SOURCE", "VALUE")] + [
        (printable(b.name), printable(_source(b, wide)), printable(_shown_value(b, mask))) for b in bindings
    ]
    name_width = max(len(row[0]) for row in rows)
    source_width = max(len(row[1]) for row in rows)
    if not wide:
        value_width = max(len(row[2]) for row in rows)
        source_width = max(min(source_width, TABLE_WIDTH - name_width - value_width - 4), 16)
    lines = [f"{n:<{name_width}}  {_cut(s, source_width, wide):<{source_width}}  {v}".rstrip() for n, s, v in rows]
    return "".join(line + "\n" for line in lines)


def _shown_value(binding: Binding, mask: bool) -> str:
    """A mapping read from a file or the environment shows its secret id; a secret's own key of that name
    (AWS_SECRET_FOO in a secret's JSON) is a value like any other."""
    is_mapping = is_mapping_name(binding.name) and isinstance(binding.source, FileSource | ProcessSource)
    return binding.value if is_mapping and not mask else masked(binding.value)


def _source(binding: Binding, wide: bool) -> str:
    source = binding.source
    return source.short() if isinstance(source, SecretSource | ComposedSource) and not wide else str(source)


def _cut(text: str, width: int, wide: bool) -> str:
    """Keep both ends of a long source (the scheme and the file name or version): `file:/srv/…/.env:3`."""
    if wide or len(text) <= width:
        return text
    keep = width - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :]
