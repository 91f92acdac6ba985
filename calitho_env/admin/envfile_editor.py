"""Edit env files the way `setup` promises: atomically, with a backup, every other byte kept.

`.env` gets the AWS_SECRET_* mappings, and the values now kept in Secrets Manager move, line for
line, to `.env.development`: development keeps working, and production (which never reads that
file) can no longer fall back to them. No value is ever written into a comment.

A file is split into python-dotenv's own bindings, whose original texts concatenate back to the
file exactly; only the bindings being set or moved change.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from calitho_env.core.atomic_write import write_atomically
from calitho_env.core.dotenv_syntax import parse_stream
from calitho_env.core.envfiles import MAX_FILE_BYTES, read_regular_file
from calitho_env.errors import ConfigurationError

DEVELOPMENT_FILE = ".env.development"


@dataclass(frozen=True)
class EnvFileEdit:
    """Set these AWS_SECRET_* mappings in .env, and move these variables to .env.development."""

    mappings: Mapping[str, str]  # AWS_SECRET_DATABASE -> calitho-suite/database
    move: frozenset[str]


@dataclass(frozen=True)
class EditedFile:
    path: Path
    backup: Path | None  # None: the file did not exist before


def plan_edit(text: str, edit: EnvFileEdit) -> tuple[str, dict[str, str]]:
    """The new .env text, and each variable moved out of it with its text (ending in a newline)."""
    newline = _newline_of(text)
    pieces: list[str] = []
    moved: dict[str, str] = {}
    remaining = dict(edit.mappings)
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.key in remaining and not binding.error:
            value = remaining.pop(binding.key)
            if binding.value != value:
                ending = newline if original.endswith(("\n", "\r")) else ""
                original = f"{binding.key}={value}{ending}"
        elif binding.key is not None and binding.key in edit.move and not binding.error:
            lines = original.splitlines(keepends=True)
            blank = [line for line in lines if not line.strip()]  # blank lines the parser counted in stay
            body = "".join(line for line in lines if line.strip())
            moved[binding.key] = body if body.endswith(("\n", "\r")) else body + newline
            original = "".join(blank)
        pieces.append(original)
    result = "".join(pieces)
    if remaining:
        if result and not result.endswith(("\n", "\r")):
            result += newline
        result += f"# AWS Secrets Manager (calitho-env setup){newline}"
        result += "".join(f"{name}={value}{newline}" for name, value in remaining.items())
    return result, moved


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def apply_edit(env_path: Path, edit: EnvFileEdit) -> list[EditedFile]:
    """Move the values to .env.development, then set the mappings in .env; the files that changed.

    In that order, so a failure in between leaves a value in both files, never in neither.
    A symlinked .env is edited at its target.
    """
    target = env_path.resolve() if env_path.is_symlink() else env_path
    text = _read_text(target)
    updated, moved = plan_edit(text, edit)
    if updated == text:
        return []
    mode = _mode_of(target)
    edited = []
    development = env_path.parent / DEVELOPMENT_FILE
    development = development.resolve() if development.is_symlink() else development
    current = _read_text(development)
    moved_text = _appended(current, moved, _newline_of(current or text))
    if moved_text:
        edited.append(_replace(development, current + moved_text, _mode_of(development, mode)))
    edited.append(_replace(target, updated, mode))
    return edited


def _appended(current: str, moved: Mapping[str, str], newline: str) -> str:
    """What to append to .env.development: the moved lines it does not define already."""
    defined = {b.key for b in parse_stream(io.StringIO(current)) if b.key and not b.error}
    lines = [text.replace("\r\n", "\n").replace("\n", newline) for key, text in moved.items() if key not in defined]
    if not lines:
        return ""
    separator = newline if current and not current.endswith(("\n", "\r")) else ""
    header = f"# moved from .env by calitho-env setup: production reads these from Secrets Manager{newline}"
    return separator + header + "".join(lines)


def _read_text(path: Path) -> str:
    try:
        data = read_regular_file(path)  # never blocks on a FIFO, never reads /dev/zero forever
    except FileNotFoundError:
        return ""
    except OSError as error:
        reason = error.strerror or "a directory"
        raise ConfigurationError(f"{path} cannot be read ({reason}); it was not edited") from None
    if data is None or len(data) > MAX_FILE_BYTES:
        raise ConfigurationError(f"{path} is not a regular env file of at most 16 MiB; it was not edited")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text; it was not edited") from None
    if "".join(b.original.string for b in parse_stream(io.StringIO(text))) != text:
        raise ConfigurationError(f"{path} cannot be edited without changing other lines; it was not edited")
    return text


def _mode_of(path: Path, default: int = 0o600) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return default


def _replace(path: Path, text: str, mode: int) -> EditedFile:
    """Back the file up to PATH.bak (mode 0600), then replace it atomically, keeping its mode."""
    backup = None
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        original = None
    if original is not None:
        backup = path.with_name(path.name + ".bak")
        write_atomically(backup, original, 0o600)
    write_atomically(path, text.encode("utf-8"), mode)
    return EditedFile(path, backup)
