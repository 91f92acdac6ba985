"""Replace this process with the target, like env(1): same PID, no shell.

Until then, the stop signals end calitho-env at once, also as a container's PID 1, for which
the kernel drops every signal that has no handler: `docker stop` must not wait out its grace
period and then see the app start anyway.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from calitho_env.errors import CommandNotExecutableError, CommandNotFoundError, Interrupted

STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def stop_on_signals() -> None:
    """Turn the stop signals into Interrupted, except those the parent had ignored (nohup keeps working)."""
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _stop)


def exec_command(argv: Sequence[str], environment: Mapping[str, str]) -> NoReturn:
    """os.execvpe the command; PATH is searched in the child's environment. Failures are one line, like env(1)."""
    if not argv or not argv[0]:
        raise CommandNotFoundError("'': command not found", hint="give the command to run after --")
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: started with that descriptor closed
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    _end_helpers()
    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec. Our stop
    # handlers need no reset: exec gives a handled signal its default action.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(argv[0], list(argv), dict(environment))
    except OSError as error:
        raise command_error(argv[0], error) from None


def command_error(command: str, error: OSError) -> CommandNotFoundError | CommandNotExecutableError:
    """Why COMMAND could not be started, in one line like env(1): 127 not found, 126 not executable."""
    if isinstance(error, FileNotFoundError):
        return CommandNotFoundError(f"{command!r}: command not found", hint=_shell_line_hint(command))
    if isinstance(error, PermissionError):
        return CommandNotExecutableError(f"{command!r}: permission denied")
    hint = "a script needs a first line such as #!/bin/sh" if error.errno == errno.ENOEXEC else None
    return CommandNotExecutableError(f"{command!r}: cannot execute: {error.strerror}", hint=hint)


def _shell_line_hint(command: str) -> str | None:
    """A whole shell line given as one word (`run -- 'echo $X'`) is no program name: say how to run it."""
    if any(char.isspace() or char in "$|&;<>()`*?{}=" for char in command):
        return "this is a shell line, not a program: run it through a shell, e.g. calitho-env run -- sh -c '...'"
    return None


def _end_helpers() -> None:
    """End every process calitho-env started (a credential_process helper still running at the
    deadline): after the exec it would become the app's child, and outlive it."""
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return  # not Linux: nothing to look at
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in map(int, children):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
