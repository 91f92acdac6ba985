"""Instructions, not milliseconds: the development launches under valgrind's callgrind.

Wall time on a shared machine moves by several percent between runs; an instruction count with a
fixed PYTHONHASHSEED is the same every time, so it shows what a change to the start-up path is worth.
Each launcher runs its console script in the four-file cascade with os.execvpe replaced by
os._exit(0): the count stops at the moment it would become the target (the exec itself, and the
target, are the same for every launcher). Linux with valgrind only; elsewhere there are no rows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# Runs a console script as its own `if __name__ == "__main__"` would, but stops instead of exec'ing.
_UNTIL_EXEC = """
import os, sys
os.execvpe = lambda *args, **kwargs: os._exit(0)
script = sys.argv[1]
sys.argv = sys.argv[1:]
with open(script) as source:
    code = compile(source.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
os._exit(0)
"""
_COLLECTED = re.compile(r"Collected : (\d+)")


def available() -> bool:
    return shutil.which("valgrind") is not None


def until_exec(script: str, *arguments: str) -> list[str]:
    """Python's arguments to run a console script up to its exec."""
    return ["-c", _UNTIL_EXEC, script, *arguments]


def count(python: str, arguments: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """Instructions executed by `python arguments...`, counted by callgrind."""
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, *arguments],
        env={**env, "PYTHONHASHSEED": "0"},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(completed.stderr)
    if completed.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run exited {completed.returncode}: {completed.stderr[-500:]}")
    return int(found.group(1))


def counts(python: str, variants: Mapping[str, Sequence[str]], env: Mapping[str, str], cwd: Path) -> dict[str, int]:
    """Each variant once to write its bytecode caches, then once counted."""
    counted = {}
    for name, arguments in variants.items():
        count(python, arguments, env, cwd)
        counted[name] = count(python, arguments, env, cwd)
    return counted
