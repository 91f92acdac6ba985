"""`run --watch`: keep COMMAND running as a child, and restart it when its environment changes.

The supervisor is a small init. The child runs in a process group of its own, and SIGTERM, SIGINT,
SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are forwarded to that whole group (so `npm start`'s
grandchild, the server, gets them too); a signal the parent ignored (nohup) stays ignored, here and
in the child. A restart or a stop waits until the whole group is gone, SIGKILLs what is left after
the grace, and only then starts the new child (or exits). Orphans come back to the supervisor (a
subreaper, or PID 1) and are reaped; its own helpers (botocore's credential_process, in its own
group) are left to whoever started them. An interactive child owns the terminal; Ctrl-Z stops the
job as a whole and `fg` gives the terminal back to the child. When the child ends on its own, the
supervisor ends the same way, except that it never dumps core: the memory holds every value.

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
# Signals whose default action dumps core: the supervisor exits 128+n instead of dying of them.
DUMPING = ("SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGXCPU", "SIGXFSZ", "SIGSYS")
DRAIN_POLL = 0.05  # seconds: a group's last members need not be our children, so no SIGCHLD says they left
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


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
        self._orphans_come_here = False

    def wake(self) -> None:
        """Called from the watcher thread after it queued a restart."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"!")

    def run(self) -> NoReturn:
        self._orphans_come_here = _harden()
        for name in FORWARDED:
            number = getattr(signal, name)
            if signal.getsignal(number) is not signal.SIG_IGN:  # nohup: an ignored signal stays ignored
                signal.signal(number, self._note)
        for number in (signal.SIGCHLD, signal.SIGCONT):
            signal.signal(number, self._note)
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        child = self._start(self.environment)
        stopping = False
        pending: Restart | None = None
        drain_until: float | None = None  # a restart or a stop: the old group has until then, then SIGKILL
        killed = False
        asked = self.restart_signal  # the signal the draining group was asked to stop with
        while True:
            now = time.monotonic()
            deadlines = [drain_until] if drain_until is not None and not killed else []
            if pending is not None and drain_until is None and not stopping:
                deadlines.append(pending.at)
            if drain_until is not None or (stopping and child.returncode is not None):
                deadlines.append(now + DRAIN_POLL)
            timeout = max(min(deadlines) - now, 0) if deadlines else None
            with contextlib.suppress(InterruptedError):
                select.select([self._wake_read], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 4096)
            while self._signals:
                number = self._signals.pop(0)
                if number == signal.SIGCONT:
                    self._resume(child)
                elif number != signal.SIGCHLD:
                    if signal.Signals(number).name in STOPPING and not stopping:
                        stopping = True
                        if drain_until is None:
                            drain_until, asked = time.monotonic() + self.grace, number
                    _signal_group(child.pid, number)
            with contextlib.suppress(queue.Empty):
                while True:
                    pending = self.restarts.get_nowait()  # the newest wins
            self._reap(child)
            gone = child.returncode is not None and not _group_alive(child.pid, killed)
            now = time.monotonic()
            if stopping or drain_until is not None:
                if gone and stopping:
                    self._exit_like(child.returncode)
                if gone:  # the old group is gone, every member: start the new child
                    assert pending is not None
                    if self._orphans_come_here:
                        _end_escaped()
                    self.environment = pending.environment
                    child = self._start(self.environment)
                    self.reporter.info("restarted", f"started {self.argv[0]} again (pid {child.pid})", pid=child.pid)
                    pending, drain_until, killed = None, None, False
                elif drain_until is not None and now >= drain_until and not killed:
                    self.reporter.warning(
                        "restart_kill",
                        f"{self.argv[0]} (process group {child.pid}) ignored {signal.Signals(asked).name} for "
                        f"{self.grace:g} s: SIGKILL",
                        pid=child.pid,
                    )
                    _signal_group(child.pid, signal.SIGKILL)
                    killed = True
                continue
            if child.returncode is not None:
                self._exit_like(child.returncode)  # the child ended on its own: so do we
            if pending is not None and now >= pending.at:
                self.reporter.info(
                    "restarting",
                    f"restarting {self.argv[0]} (pid {child.pid}): {pending.reason}",
                    pid=child.pid,
                    signal=signal.Signals(self.restart_signal).name,
                )
                _signal_group(child.pid, self.restart_signal)
                drain_until, asked = now + self.grace, self.restart_signal

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

    def _reap(self, child: subprocess.Popen[bytes]) -> None:
        """Collect the child (its end, or its stop: Ctrl-Z), then every other ended child that is ours."""
        if child.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(child.pid, os.WNOHANG | os.WUNTRACED)
                if pid and os.WIFSTOPPED(status):
                    self._suspend(child)
                elif pid:
                    child.returncode = os.waitstatus_to_exitcode(status)
                    self._give_terminal(os.getpgrp())
        if self._orphans_come_here:
            _reap_orphans(except_pid=child.pid if child.returncode is None else None)

    def _suspend(self, child: subprocess.Popen[bytes]) -> None:
        """The child stopped (Ctrl-Z): stop as a whole job, so the shell says "Stopped" and `fg` works."""
        if self._terminal is None or not _stoppable():
            _signal_group(child.pid, signal.SIGCONT)  # no job control here: a stop would last forever
            return
        with contextlib.suppress(OSError):
            if os.tcgetpgrp(self._terminal) == child.pid:  # not after `bg`: the shell has it then
                self._give_terminal(os.getpgrp())
        os.kill(os.getpid(), signal.SIGTSTP)  # resumed by the shell's SIGCONT: see _resume

    def _resume(self, child: subprocess.Popen[bytes]) -> None:
        if child.returncode is not None:
            return
        with contextlib.suppress(OSError):
            if self._terminal is not None and os.tcgetpgrp(self._terminal) == os.getpgrp():  # `fg`, not `bg`
                self._give_terminal(child.pid)
        _signal_group(child.pid, signal.SIGCONT)

    def _exit_like(self, code: int | None) -> NoReturn:
        """End as the child ended: its exit code, or death by the same signal (the shell sees 128+n);
        a signal that would dump core is an exit with 128+n instead."""
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that descriptor closed
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        code = 0 if code is None else code
        if code < 0:
            number = -code
            if signal.Signals(number).name not in DUMPING:
                signal.set_wakeup_fd(-1)
                with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
                    signal.signal(number, signal.SIG_DFL)
                with contextlib.suppress(OSError):
                    os.kill(os.getpid(), number)
                    time.sleep(0.1)  # the signal is delivered here; as PID 1 it is not, and we fall through
            os._exit(128 + number)
        os._exit(code)


def _harden() -> bool:
    """Make this process non-dumpable (its memory holds every value: no core file, no ptrace by
    the same user) and a subreaper (orphans of the child's group come back here, so a restart can
    wait for them and reap them). Whether orphans come here (also true as PID 1)."""
    if not sys.platform.startswith("linux"):
        return os.getpid() == 1
    import ctypes  # only the supervisor needs prctl

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 or os.getpid() == 1


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _group_alive(group: int, killed: bool = False) -> bool:
    """Whether any process (a zombie too, until it is reaped) is still in the group; after SIGKILL,
    zombies are not counted: one whose parent left the group and never reaps it would stay forever."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not killed or _live_member(group)


def _live_member(group: int) -> bool:
    """Whether a process of the group is more than a zombie (holds memory, files, ports); True off Linux."""
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return True
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()  # after the command's name, which may hold ')'
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _reap_orphans(except_pid: int | None) -> None:
    """Reap every ended child but the running child (its status is read with its stops) and those
    in our own group: botocore waits for its own credential_process helpers."""
    own = os.getpgrp()
    while True:
        try:
            ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # look, do not reap yet
        except ChildProcessError:
            return
        if ended is None or ended.si_pid == except_pid:
            return
        try:
            if os.getpgid(ended.si_pid) == own:
                return  # a helper of botocore's: it is reaped there, and the rest on the next SIGCHLD
            os.waitpid(ended.si_pid, os.WNOHANG)
        except (ProcessLookupError, ChildProcessError):
            continue  # reaped meanwhile


def _end_escaped() -> None:
    """SIGKILL what the old child started outside its group (a daemon after setsid) and left to us when
    its group ended: it holds the old values. Our own group's processes (botocore's helpers) stay."""
    own = os.getpgrp()
    for _ in range(100):  # a killed one's own children come to us next: a few rounds end a tree
        found = []
        with contextlib.suppress(OSError):
            for task in os.listdir("/proc/self/task"):
                with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as children:
                    found += [int(pid) for pid in children.read().split()]
        escaped = []
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) != own:
                    os.kill(pid, signal.SIGKILL)
                    escaped.append(pid)
        if not escaped:
            return
        for pid in escaped:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _stoppable() -> bool:
    """Whether SIGTSTP can stop us: our group is not orphaned (a parent in another group of our session)."""
    try:
        parent = os.getppid()
        return os.getpgid(parent) != os.getpgrp() and os.getsid(parent) == os.getsid(0)
    except OSError:
        return False


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
