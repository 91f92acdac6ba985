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

from calitho_env.errors import CalithoError, CommandNotExecutableError, CommandNotFoundError, Interrupted

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
        too_large = too_large_error(argv, environment) if error.errno == errno.E2BIG else None
        raise too_large or command_error(argv[0], error) from None


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


# Linux: no single argument or NAME=value string may pass 32 pages (MAX_ARG_STRLEN).
MAX_STRING_BYTES = 32 * (os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096)
POINTER_BYTES = 8  # execve also spends a pointer per argument and variable on the new stack


def launch_problem(argv: Sequence[str], environment: Mapping[str, str]) -> CalithoError | None:
    """What would stop COMMAND from starting with this environment, found without starting it:
    not found, not executable, or arguments and environment too large for execve."""
    if not argv or not argv[0]:
        return CommandNotFoundError("'': command not found", hint="give the command to run after --")
    try:
        _executable(argv[0], environment)
    except OSError as error:
        return command_error(argv[0], error)
    return too_large_error(argv, environment)


def _executable(command: str, environment: Mapping[str, str]) -> str:
    """The file execvpe would run (PATH searched in the child's environment), or the OSError it would meet."""
    candidates = [command] if "/" in command else [os.path.join(d or ".", command) for d in _path_of(environment)]
    denied = False
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        denied = denied or os.path.exists(candidate)
    raise PermissionError(errno.EACCES, "permission denied") if denied else FileNotFoundError(errno.ENOENT, command)


def _path_of(environment: Mapping[str, str]) -> list[str]:
    return os.get_exec_path({"PATH": environment["PATH"]} if "PATH" in environment else {})


def too_large_error(argv: Sequence[str], environment: Mapping[str, str]) -> CommandNotExecutableError | None:
    """Why execve would refuse (E2BIG) this command line and environment, by names and sizes only."""
    strings = {name: len(os.fsencode(name)) + len(os.fsencode(value)) + 2 for name, value in environment.items()}
    arguments = sum(len(os.fsencode(word)) + 1 for word in argv)
    total = arguments + sum(strings.values()) + POINTER_BYTES * (len(argv) + len(strings) + 2)
    limit = os.sysconf("SC_ARG_MAX") if hasattr(os, "sysconf") else 0
    command = argv[0] if argv else ""
    hint = "keep large values in files and pass their paths; the limit follows the stack limit (ulimit -s)"
    too_long = [name for name, size in strings.items() if size - 1 > MAX_STRING_BYTES]
    if too_long:
        names = ", ".join(f"{name} ({_size(strings[name])})" for name in too_long[:5])
        return CommandNotExecutableError(
            f"{command!r}: cannot execute: the environment is too large: {names} over the "
            f"{_size(MAX_STRING_BYTES)} one variable may hold (NAME=value)",
            hint=hint,
        )
    if limit <= 0 or total <= limit:
        if any(len(os.fsencode(word)) >= MAX_STRING_BYTES for word in argv):
            return CommandNotExecutableError(
                f"{command!r}: cannot execute: an argument is over {_size(MAX_STRING_BYTES)}", hint=hint
            )
        return None
    if arguments > limit // 2:
        return CommandNotExecutableError(
            f"{command!r}: cannot execute: the arguments are too large ({_size(arguments)}; the limit for arguments "
            f"and environment together is {_size(limit)})",
            hint=hint,
        )
    largest = sorted(strings, key=lambda name: strings[name], reverse=True)[:5]
    return CommandNotExecutableError(
        f"{command!r}: cannot execute: the environment is too large: {_size(total)} with the arguments, over the "
        f"limit of {_size(limit)}; largest: {', '.join(f'{name} ({_size(strings[name])})' for name in largest)}",
        hint=hint,
    )


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


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
