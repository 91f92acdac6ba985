"""Edit an env file the way `setup` promises: atomically, with a backup, every other byte kept.

The file is split into python-dotenv's own bindings, whose original texts concatenate back
to the file exactly; only the bindings being migrated change.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from calitho_env.core.dotenv_syntax import parse_stream
from calitho_env.errors import ConfigurationError


@dataclass(frozen=True)
class EnvFileEdit:
    """Set these AWS_SECRET_* mappings, and comment out these variables."""

    mappings: Mapping[str, str]  # AWS_SECRET_DATABASE -> calitho-suite/database
    comment_out: frozenset[str]
    note: str = "moved to AWS Secrets Manager"


def plan_edit(text: str, edit: EnvFileEdit) -> str:
    """The new text: mapping lines set or appended, migrated bindings commented out."""
    newline = "\r\n" if "\r\n" in text else "\n"
    pieces: list[str] = []
    remaining = dict(edit.mappings)
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.key in remaining and not binding.error:
            value = remaining.pop(binding.key)
            if binding.value != value:
                ending = newline if original.endswith(("\n", "\r")) else ""
                original = f"{binding.key}={value}{ending}"
        elif binding.key in edit.comment_out and not binding.error:
            original = _commented(original, edit.note)
        pieces.append(original)
    result = "".join(pieces)
    if remaining:
        if result and not result.endswith(("\n", "\r")):
            result += newline
        result += f"# AWS Secrets Manager (calitho-env setup){newline}"
        result += "".join(f"{name}={value}{newline}" for name, value in remaining.items())
    return result


def _commented(original: str, note: str) -> str:
    out = []
    noted = False
    for line in original.splitlines(keepends=True):
        if not line.strip():
            out.append(line)  # blank lines the parser counted into this binding stay as they are
        elif not noted:
            out.append(f"# {note}: {line}")
            noted = True
        else:
            out.append(f"# {line}")
    return "".join(out)


def apply_edit(path: Path, edit: EnvFileEdit) -> Path | None:
    """Rewrite `path` atomically, keeping its mode, after copying it to PATH.bak. None if unchanged."""
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        original = b""
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text; it was not edited") from None
    if "".join(b.original.string for b in parse_stream(io.StringIO(text))) != text:
        raise ConfigurationError(f"{path} cannot be edited without changing other lines; it was not edited")
    updated = plan_edit(text, edit)
    if updated == text:
        return None
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    backup = path.with_name(path.name + ".bak")
    if path.exists():
        shutil.copy2(path, backup)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(updated.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return backup if backup.exists() else None
