"""What `run --watch` watches, on a thread of its own, and when it asks the supervisor to restart.

Production: every interval (with jitter) one DescribeSecret per watched secret asks whether its
AWSCURRENT version changed; never GetSecretValue while nothing did. On a change everything is
resolved again; only a resolution with no failure (so no fallback) whose environment really
differs asks for a restart, at a random point of the spread. Development and test: the env files
of the cascade are watched instead (their size and modification time), and the restart is at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from calitho_env.core.resolution import Resolution
from calitho_env.core.secret_requests import SECRET, SecretRequest
from calitho_env.core.supervision import Restart, Supervisor, jittered, spread
from calitho_env.diagnostics import Reporter
from calitho_env.errors import CalithoError

Versions = dict[SecretRequest, str]
Probe = Callable[[], "Versions | str"]  # current versions, or why they could not be learned


def watched(resolution: Resolution) -> list[SecretRequest]:
    """Secrets whose AWSCURRENT can move: not those pinned to a version id or another stage."""
    return [
        fetch.request
        for fetch in resolution.fetches
        if fetch.request.kind == SECRET
        and not fetch.request.version_id
        and fetch.request.version_stage in (None, "AWSCURRENT")
    ]


def versions_of(resolution: Resolution) -> Versions:
    return {
        fetch.request: secret.version_id
        for fetch in resolution.fetches
        if (secret := fetch.secret) is not None and secret.version_id
    }


def file_state(paths: Sequence[Path]) -> dict[Path, tuple[int, int] | None]:
    state: dict[Path, tuple[int, int] | None] = {}
    for path in paths:
        try:
            info = path.stat()
            state[path] = (info.st_mtime_ns, info.st_size)
        except OSError:
            state[path] = None
    return state


class Watcher(threading.Thread):
    def __init__(
        self,
        supervisor: Supervisor,
        resolve: Callable[[], Resolution],
        reporter: Reporter,
        interval: float,
        spread_seconds: float,
        first: Resolution,
        probe: Probe | None,
    ) -> None:
        super().__init__(name="calitho-env-watch", daemon=True)
        self.supervisor = supervisor
        self.resolve = resolve
        self.reporter = reporter
        self.interval = interval
        self.spread_seconds = spread_seconds
        self.probe = probe  # None: development, watch the files
        self.environment = first.environment()
        self.versions = versions_of(first)
        paths = [*first.files_read, *first.files_missing]
        self.files = file_state(paths)
        self.paths = paths

    def run(self) -> None:
        while True:
            time.sleep(jittered(self.interval))
            try:
                change = self._change()
                if change is not None:
                    self._resolve_again(change)
            except Exception as error:  # noqa: BLE001 - a watcher that dies quietly would stop restarts unseen
                self.reporter.warning("watch_error", f"unexpected {type(error).__name__}; watching on")

    def _change(self) -> str | None:
        if self.probe is None:
            now = file_state(self.paths)
            changed = [str(path) for path in self.paths if now[path] != self.files[path]]
            self.files = now
            return f"{', '.join(changed)} changed" if changed else None
        current = self.probe()
        if isinstance(current, str):
            self.reporter.warning("watch_error", f"could not ask for new versions: {current}; trying again later")
            return None
        moved = {r: v for r, v in current.items() if self.versions.get(r) != v}
        if not moved:
            return None
        said = ", ".join(f"{r.describe()} {self.versions.get(r, '?')} -> {v}" for r, v in moved.items())
        self.reporter.info(
            "version_changed",
            f"new AWSCURRENT: {said}",
            versions={r.secret_id: v for r, v in moved.items()},
        )
        return f"new version of {', '.join(r.describe() for r in moved)}"

    def _resolve_again(self, change: str) -> None:
        try:
            resolution = self.resolve()
        except CalithoError as error:
            self.reporter.warning("watch_error", f"not restarting: {error.message}", hint=error.hint)
            return
        failures = resolution.failures()
        if failures:
            names = ", ".join(result.request.describe() for result, _ in failures)
            self.reporter.warning(
                "watch_error", f"not restarting: {names} could not be fetched; the child keeps its values"
            )
            return  # the versions stay as they were: the next interval tries again
        self.versions = versions_of(resolution)
        environment = resolution.environment()
        if environment == self.environment:
            self.reporter.info("unchanged", f"{change}, but the command's environment is the same: no restart")
            return
        self.environment = environment
        delay = spread(self.spread_seconds) if self.probe is not None else 0.0
        self.reporter.info("restart_planned", f"{change}: restarting in {delay:.1f} s", delay=round(delay, 1))
        self.supervisor.restarts.put(Restart(environment, time.monotonic() + delay, change))
        self.supervisor.wake()


def supervise(
    argv: Sequence[str],
    first: Resolution,
    resolve: Callable[[], Resolution],
    reporter: Reporter,
    probe: Probe | None,
    interval: float,
    spread_seconds: float,
    restart_signal: int,
    grace: float,
) -> None:
    """Start the command under a supervisor, and the watcher beside it; returns only by exiting."""
    supervisor = Supervisor(argv, first.environment(), reporter, restart_signal, grace)
    Watcher(supervisor, resolve, reporter, interval, spread_seconds, first, probe).start()
    supervisor.run()
