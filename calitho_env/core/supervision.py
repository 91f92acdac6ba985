"""`run --watch`: keep COMMAND running as a child, and restart it when its environment changes.

The supervisor is a small init: the child runs in a process group of its own, and SIGTERM, SIGINT,
SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are forwarded to that whole group (so `npm start`'s
grandchild, the server, gets them too); orphans are reaped when it is PID 1; an interactive child
owns the terminal; and when the child ends on its own, the supervisor ends the same way (a signal
death is re-raised on itself). A crashed child is never restarted: that is the orchestrator's job.

Restarts come from a watcher thread (`Watcher`) through a queue: the main thread only waits for
signals, children and that queue, so no signal is ever handled late or twice.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import NamedTuple, NoReturn

from calitho_env.core.execution import command_error
from calitho_env.diagnostics import Reporter

FORWARDED = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
STOPPING = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")  # after these, a child that ends is not restarted


class Restart(NamedTuple):
    """From the watcher: start the command again with this environment (at `at`, monotonic)."""

    environment: dict[str, str]
    at: float
    reason: str


class Supervisor:
    def __init__(
        self,
        argv: Sequence[str],
        environment: Mapping[str, str],
        reporter: Reporter,
        restart_signal: int = signal.SIGTERM,
        grace: float = 10.0,
    ) -> None:
        self.argv = list(argv)
        self.environment = dict(environment)
        self.reporter = reporter
        self.restart_signal = restart_signal
        self.grace = grace
        self.restarts: queue.Queue[Restart] = queue.Queue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._signals: list[int] = []
        self._terminal = _terminal_fd()

    def wake(self) -> None:
        """Called from the watcher thread after it queued a restart."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"!")

    def run(self) -> NoReturn:
        for name in (*FORWARDED, "SIGCHLD"):
            signal.signal(getattr(signal, name), self._note)
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        child = self._start(self.environment)
        stopping = False
        pending: Restart | None = None
        killing_at: float | None = None  # when a restarting child gets SIGKILL
        while True:
            now = time.monotonic()
            waiting = (pending.at if pending and killing_at is None else None, killing_at)
            deadlines = [d for d in waiting if d is not None and d != float("inf")]
            timeout = max(min(deadlines) - now, 0) if deadlines else None
            with contextlib.suppress(InterruptedError):
                select.select([self._wake_read], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 4096)
            while self._signals:
                number = self._signals.pop(0)
                if number == signal.SIGCHLD:
                    continue
                stopping = stopping or signal.Signals(number).name in STOPPING
                self._forward(child, number)
            with contextlib.suppress(queue.Empty):
                while True:
                    pending = self.restarts.get_nowait()  # the newest wins
            status = self._reap(child)
            if status is not None and (stopping or killing_at is None):
                self._exit_like(status)  # the child ended on its own (or was told to stop): so do we
            if status is not None:  # the restarting child is gone: start the new one
                assert pending is not None
                self.environment = pending.environment
                child = self._start(self.environment)
                self.reporter.info("restarted", f"started {self.argv[0]} again (pid {child.pid})", pid=child.pid)
                pending, killing_at = None, None
                continue
            now = time.monotonic()
            if pending and killing_at is None and now >= pending.at and not stopping:
                self.reporter.warning(
                    "restarting",
                    f"restarting {self.argv[0]} (pid {child.pid}): {pending.reason}",
                    pid=child.pid,
                    signal=signal.Signals(self.restart_signal).name,
                )
                self._forward(child, self.restart_signal)
                killing_at = now + self.grace
            elif killing_at is not None and now >= killing_at:
                self.reporter.warning(
                    "restart_kill", f"{self.argv[0]} ignored {signal.Signals(self.restart_signal).name} for "
                    f"{self.grace:g} s: SIGKILL", pid=child.pid,
                )  # fmt: skip
                self._forward(child, signal.SIGKILL)
                killing_at = float("inf")  # wait for it to be reaped

    def _note(self, number: int, frame: FrameType | None) -> None:
        self._signals.append(number)

    def _start(self, environment: Mapping[str, str]) -> subprocess.Popen[bytes]:
        try:
            child = subprocess.Popen(self.argv, env=dict(environment), process_group=0)
        except OSError as error:
            raise command_error(self.argv[0], error) from None
        self._give_terminal(child.pid)
        return child

    def _give_terminal(self, group: int) -> None:
        """An interactive child owns the terminal: Ctrl-C and the keyboard go to it, not to us."""
        if self._terminal is None:
            return
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not change it
        try:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(self._terminal, group)
        finally:
            signal.signal(signal.SIGTTOU, previous)

    def _forward(self, child: subprocess.Popen[bytes], number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, number)

    def _reap(self, child: subprocess.Popen[bytes]) -> int | None:
        """Collect every ended child (orphans too, as PID 1); the wait status of ours if it ended."""
        ours = None
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return ours
            if pid == 0:
                return ours
            if pid == child.pid:
                child.returncode = os.waitstatus_to_exitcode(status)
                ours = status
                if self._terminal is not None:
                    self._give_terminal(os.getpgrp())

    def _exit_like(self, status: int) -> NoReturn:
        """End as the child ended: its exit code, or death by the same signal (the shell sees 128+n)."""
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that descriptor closed
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            signal.set_wakeup_fd(-1)
            with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
                signal.signal(number, signal.SIG_DFL)
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), number)
                time.sleep(0.1)  # the signal is delivered here; as PID 1 it is not, and we fall through
            os._exit(128 + number)
        os._exit(os.waitstatus_to_exitcode(status))


def _terminal_fd() -> int | None:
    """The controlling terminal's descriptor if calitho-env is in its foreground, else None."""
    with contextlib.suppress(OSError):
        if os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp():
            return 0
    return None


def jittered(interval: float, fraction: float = 0.1) -> float:
    """The interval give or take 10 %, so a fleet does not poll in step."""
    import random  # only --watch uses it

    return interval * (1 + random.uniform(-fraction, fraction))


def spread(seconds: float) -> float:
    """A random part of `seconds`: how long this instance waits before restarting."""
    import random

    return random.uniform(0, seconds) if seconds > 0 else 0.0
