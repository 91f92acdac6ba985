"""Diagnostics on stderr: `calitho-env: ...` lines, or one JSON object per line.

Everything the launcher tells a person passes through here. Callers hand over
names, secret ids, sources and codes; values never reach this module.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple, TextIO

Level = Literal["error", "warning", "info"]
LogFormat = Literal["text", "json"]
PREFIX = "calitho-env"


class Notice(NamedTuple):
    level: Level
    event: str  # a stable machine name: secret_unavailable, env_file_unparsable, ...
    message: str
    fields: Mapping[str, object] = MappingProxyType({})


class Reporter:
    """verbosity: -1 errors only (-q), 0 errors and warnings, 1 also info (-v)."""

    def __init__(self, verbosity: int = 0, log_format: LogFormat = "text", stream: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.log_format = log_format
        self._stream = stream

    def wants(self, level: Level) -> bool:
        threshold = {"error": -1, "warning": 0, "info": 1}[level]
        return self.verbosity >= threshold

    def emit(self, notice: Notice) -> None:
        if not self.wants(notice.level):
            return
        stream = self._stream or sys.stderr
        if stream is None:  # started with stderr closed: nothing can be said, and the child still runs
            return
        if self.log_format == "json":
            import json  # text is the default: a launch that writes no JSON does not pay for importing it

            record: dict[str, object] = {"level": notice.level, "event": notice.event, "message": notice.message}
            record.update(notice.fields)
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            label = "" if notice.level == "info" else f"{notice.level}: "
            line = f"{PREFIX}: {label}{notice.message}"
            hint = notice.fields.get("hint")
            if hint:
                line += f"\n{PREFIX}: hint: {hint}"
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a diagnostic that cannot be written is dropped; it must not stop the launch

    def info(self, event: str, message: str, **fields: object) -> None:
        self.emit(Notice("info", event, message, fields))

    def warning(self, event: str, message: str, **fields: object) -> None:
        self.emit(Notice("warning", event, message, fields))

    def error(self, event: str, message: str, **fields: object) -> None:
        self.emit(Notice("error", event, message, fields))
