"""Env files: which ones, in what order, and what they define (docs/configuration.md).

Parsing is python-dotenv's; this module adds the Next.js cascade, provenance
(file and line), and interpolation across files the way Next.js does it.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from calitho_env.core.bindings import VARIABLE_NAME, Binding, FileSource, describe_unlike, is_valid_name, require_valid
from calitho_env.core.dotenv_syntax import parse_stream, parse_variables
from calitho_env.core.settings import Mode, Settings
from calitho_env.errors import ConfigurationError

MAX_FILE_BYTES = 16 * 1024 * 1024  # an env file larger than this is refused
MAX_VALUE_CHARS = 1024 * 1024  # one value, after ${VAR} expansion


def read_regular_file(path: Path) -> bytes | None:
    """The file's bytes (at most MAX_FILE_BYTES + 1), or None when it is not a regular file.

    Opened without blocking and checked before reading: a FIFO would wait forever for a writer,
    /dev/zero would never end.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):
            return None
        chunks = []
        size = 0
        while size <= MAX_FILE_BYTES and (chunk := os.read(descriptor, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


class EnvFileLayer(NamedTuple):
    """What the env files define: the winning binding for each name."""

    bindings: dict[str, Binding]
    files_read: tuple[Path, ...]
    warnings: tuple[str, ...]
    files_missing: tuple[Path, ...] = ()  # cascade files looked for and not found


def cascade(directory: Path, mode: Mode) -> list[Path]:
    """The Next.js cascade, highest priority first; .env.local is skipped in test mode."""
    names = [f".env.{mode.value}.local", ".env.local", f".env.{mode.value}", ".env"]
    if mode is Mode.TEST:
        names.remove(".env.local")
    return [directory / name for name in names]


def load_env_files(settings: Settings, environ: Mapping[str, str]) -> EnvFileLayer:
    if settings.env_files:
        # A later --env-file overrides an earlier one: it has the higher priority.
        by_priority = list(reversed(settings.env_files))
        texts = [(path, _read(path, must_exist=True)) for path in by_priority]
    else:
        by_priority = cascade(settings.directory, settings.mode.mode)
        texts = [(path, _read(path, must_exist=False)) for path in by_priority]
    layer = _merge([(path, text) for path, text in texts if text is not None], environ)
    return layer._replace(files_missing=tuple(path for path, text in texts if text is None))


def _merge(files: list[tuple[Path, str]], environ: Mapping[str, str]) -> EnvFileLayer:
    """Merge files given highest priority first: the first file defining a key wins.

    As in Next.js, `${VAR}` sees the process environment first, then what
    higher-priority files defined, then earlier lines of the same file.
    """
    winners: dict[str, Binding] = {}
    context: dict[str, str] = dict(environ)
    warnings: list[str] = []
    for path, text in files:
        local: dict[str, Binding] = {}
        local_values: dict[str, str] = {}
        lookup = ChainMap(context, local_values)
        for parsed in parse_stream(io.StringIO(text)):
            line = parsed.original.line
            if parsed.error:
                warnings.append(f"{path}:{line}: python-dotenv cannot parse this line; it is ignored")
                continue
            if parsed.key is None or parsed.value is None:
                continue  # blank, comment, or a bare KEY with no '='
            value = _expand(parsed.value, lookup, f"{path}:{line}", parsed.key)
            require_valid(parsed.key, value, f"{path}:{line}")
            local[parsed.key] = Binding(parsed.key, value, FileSource(str(path), line))
            local_values[parsed.key] = value
        for name, binding in local.items():
            winners.setdefault(name, binding)
            context.setdefault(name, binding.value)
    return EnvFileLayer(winners, tuple(path for path, _ in files), tuple(warnings))


DECLARED_BARE = re.compile(r"[A-Z_][A-Z0-9_]*")  # what a bare line of an example must look like to declare


def read_declared_names(path: Path, must_exist: bool) -> tuple[str, ...] | None:
    """The names an example file (.env.example) declares, `KEY=...` or a bare `KEY`, in order; None when
    it does not exist and need not. Its values are placeholders or samples: they are never read into anything."""
    if not must_exist and not path.exists():
        return None
    if not path.exists():
        raise ConfigurationError(f"example file {path} does not exist", hint="check --example / CALITHO_ENV_EXAMPLE")
    text = _read(path, must_exist=True)
    assert text is not None  # it exists
    names: list[str] = []
    for parsed in parse_stream(io.StringIO(text)):
        if parsed.error or parsed.key is None:
            continue  # a line python-dotenv cannot parse declares nothing
        if parsed.value is None and not DECLARED_BARE.fullmatch(parsed.key):
            continue  # a bare word that is no UPPER_CASE name may be a line of a multi-line value: never echoed
        if not is_valid_name(parsed.key):
            raise ConfigurationError(
                f"{path}:{parsed.original.line}: not a variable name: {describe_unlike(parsed.key, VARIABLE_NAME)}",
                hint="an example file lists the variables the app reads, one NAME= a line",
            )
        names.append(parsed.key)
    return tuple(dict.fromkeys(names))


def _expand(raw: str, lookup: Mapping[str, str], where: str, name: str) -> str:
    """`${VAR}` expanded, stopping as soon as the value passes MAX_VALUE_CHARS (doubling lines
    `A1=${A0}${A0}` would otherwise grow without bound)."""
    pieces = []
    size = 0
    for atom in parse_variables(raw):
        piece = atom.resolve(lookup)
        size += len(piece)
        if size > MAX_VALUE_CHARS:
            raise ConfigurationError(
                f"{where}: the value of {name} grows past 1 MiB as ${{...}} is expanded",
                hint="a variable that refers to itself through others doubles on every line",
            )
        pieces.append(piece)
    return "".join(pieces)


def _read(path: Path, *, must_exist: bool) -> str | None:
    try:
        data = read_regular_file(path)
    except FileNotFoundError:
        if must_exist:
            raise ConfigurationError(f"env file {path} does not exist", hint="check the --env-file path") from None
        return None
    except IsADirectoryError:
        raise ConfigurationError(f"{path} is a directory, not an env file", hint="remove or rename it") from None
    except PermissionError:
        raise ConfigurationError(
            f"env file {path} cannot be read (permission denied)", hint="fix the file's owner or mode"
        ) from None
    except OSError as error:
        reason = "it is a symlink loop" if error.errno == errno.ELOOP else error.strerror
        raise ConfigurationError(f"env file {path} cannot be read: {reason}") from None
    if data is None:
        raise ConfigurationError(
            f"env file {path} is not a regular file (a FIFO, a device or a socket); it is not read",
            hint="point the cascade or --env-file at a plain file",
        )
    if len(data) > MAX_FILE_BYTES:
        raise ConfigurationError(f"env file {path} is over 16 MiB; it is not read", hint="is it an env file?")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # utf-8-sig, without importing its codec
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigurationError(
            f"{path}:{line}: the file is not UTF-8 text", hint="env files must be UTF-8; is this a binary file?"
        ) from None
