"""Measuring one launch from the outside: its wall time, and (separately) its peak memory."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A small parent for the memory measurement: a child forked from the (large) benchmark process
# would start with the benchmark's resident set as its high-water mark. This one starts at ~8 MiB.
_PEAK_PARENT = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    os.execvpe(sys.argv[1], sys.argv[1:], os.environ)
_, status = os.waitpid(pid, 0)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    peak_kib: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024


def launch(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> float:
    """Run to completion and return the wall time in seconds; a failing launch stops the benchmark."""
    started = time.perf_counter()
    completed = subprocess.run(
        list(command), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {completed.returncode}: {completed.stderr.decode()[-500:]}")
    return elapsed


def peak_kib(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """The peak resident set of the launch, in KiB (it survives exec, so it is the launcher's or the target's)."""
    completed = subprocess.run(
        [sys.executable, "-S", "-c", _PEAK_PARENT, *command],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    peak, code = completed.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command[:4]} exited {code}")
    return int(peak)
