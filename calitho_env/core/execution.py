"""Replace this process with the target, like env(1): same PID, no shell."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from calitho_env.errors import CommandNotExecutableError, CommandNotFoundError


def exec_command(argv: Sequence[str], environment: Mapping[str, str]) -> NoReturn:
    """os.execvpe the command; PATH is searched in the child's environment. Failures are one line, like env(1)."""
    sys.stdout.flush()
    sys.stderr.flush()
    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(argv[0], list(argv), dict(environment))
    except FileNotFoundError:
        raise CommandNotFoundError(f"{argv[0]!r}: command not found") from None
    except PermissionError:
        raise CommandNotExecutableError(f"{argv[0]!r}: permission denied") from None
    except OSError as error:
        raise CommandNotExecutableError(f"{argv[0]!r}: cannot execute: {error.strerror}") from None
