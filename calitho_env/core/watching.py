"""What `run --watch` watches, on a thread of its own, and when it asks the supervisor to restart.

Production: every interval (with jitter) one DescribeSecret per watched secret, each on its own,
asks whether its AWSCURRENT version changed, and one GetParameters (without decryption) per 10
parameters asks for theirs; never GetSecretValue while nothing did. On a change
everything is resolved again (its notices reported as a launch's). A restart is asked for only when
that resolution has no failure (so no fallback), every changed secret came back at the version
DescribeSecret reported (or one never seen: newer), COMMAND can be started with the new environment,
and that environment really differs; otherwise the child keeps running, a warning says why, and the
next try waits twice as long (up to 8 intervals). Development and test: the env files of the cascade
are watched instead (by content, from a snapshot taken before the first read), and the restart is at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from calitho_env.core.execution import launch_problem
from calitho_env.core.fetched import CurrentVersion, FetchFailure
from calitho_env.core.resolution import Resolution
from calitho_env.core.secret_requests import PARAMETER, SECRET, SecretRequest
from calitho_env.core.supervision import Restart, Supervisor, jittered, spread
from calitho_env.diagnostics import Reporter
from calitho_env.errors import CalithoError

Versions = dict[SecretRequest, str]
Probe = Callable[[], Mapping[SecretRequest, "CurrentVersion | FetchFailure"]]
FileState = dict[Path, "str | None"]  # each file's content digest, None when it cannot be read
MAX_BACKOFF = 8  # intervals: the longest wait while re-resolutions keep failing
DESCRIBE_PRICE = 0.05 / 10_000  # dollars per DescribeSecret call, like every Secrets Manager API call
GROUP_SIZE = 10  # parameters per GetParameters call


def watched(resolution: Resolution) -> list[SecretRequest]:
    """Secrets whose AWSCURRENT can move (not those pinned to a version id or another stage), and
    Parameter Store parameters; not paths (a path would be read in full at every look)."""
    return [
        fetch.request
        for fetch in resolution.fetches
        if fetch.request.kind == PARAMETER
        or (
            fetch.request.kind == SECRET
            and not fetch.request.version_id
            and fetch.request.version_stage in (None, "AWSCURRENT")
        )
    ]


def versions_of(resolution: Resolution) -> Versions:
    return {
        fetch.request: secret.version_id
        for fetch in resolution.fetches
        if (secret := fetch.secret) is not None and secret.version_id
    }


def file_state(paths: Sequence[Path]) -> FileState:
    """Each file by content: an edit that keeps the size and the modification time is still seen."""
    state: FileState = {}
    for path in paths:
        try:
            state[path] = hashlib.sha256(path.read_bytes()).hexdigest()
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
        files_before: FileState | None = None,
    ) -> None:
        super().__init__(name="calitho-env-watch", daemon=True)
        self.supervisor = supervisor
        self.argv = supervisor.argv
        self.resolve = resolve
        self.reporter = reporter
        self.interval = interval
        self.spread_seconds = spread_seconds
        self.probe = probe  # None: development, watch the files
        self.environment = first.environment()
        self.versions = versions_of(first)
        self.older: dict[SecretRequest, set[str]] = {}  # versions a secret held before: never restart onto them
        self.failing: dict[SecretRequest, str] = {}  # secrets DescribeSecret fails for, with the error code
        self.held = 0  # re-resolutions in a row that did not restart: the backoff
        self.paths = list(files_before) if files_before is not None else [*first.files_read, *first.files_missing]
        self.files = files_before if files_before is not None else file_state(self.paths)

    def delay(self) -> float:
        return self.interval * min(1 << self.held, MAX_BACKOFF)

    def run(self) -> None:
        while True:
            time.sleep(jittered(self.delay()))
            try:
                self.look()
            except Exception as error:  # noqa: BLE001 - a watcher that dies quietly would stop restarts unseen
                self.reporter.warning("watch_error", f"unexpected {type(error).__name__}; watching on")

    def look(self) -> None:
        if self.probe is None:
            now = file_state(self.paths)
            changed = [str(path) for path in self.paths if now[path] != self.files[path]]
            self.files = now
            if changed:
                self._resolve_again(f"{', '.join(changed)} changed", {})
            return
        described = self.probe()
        self._report_failing(described)
        current = {r: d for r, d in described.items() if isinstance(d, CurrentVersion)}
        moved = {r: d for r, d in current.items() if self.versions.get(r) != d.version_id}
        if not moved:
            return
        said = ", ".join(f"{r.describe()} {self.versions.get(r, '?')} -> {d.version_id}" for r, d in moved.items())
        self.reporter.info(
            "version_changed",
            f"new version: {said}",
            versions={r.secret_id: d.version_id for r, d in moved.items()},
        )
        self._resolve_again(f"new version of {', '.join(r.describe() for r in moved)}", moved)

    def _report_failing(self, described: Mapping[SecretRequest, CurrentVersion | FetchFailure]) -> None:
        """A secret that cannot be described is warned about once per change of state, not each interval."""
        for request, outcome in described.items():
            was = self.failing.get(request)
            if isinstance(outcome, FetchFailure) and was != outcome.code:
                self.failing[request] = outcome.code
                self.reporter.warning(
                    "watch_error",
                    f"could not ask for new versions of {request.describe()}: {outcome.code}: {outcome.message}; "
                    "the other secrets are still watched",
                    secret_id=request.secret_id,
                    error_code=outcome.code,
                    hint=outcome.hint,
                )
            elif isinstance(outcome, CurrentVersion) and was is not None:
                del self.failing[request]
                self.reporter.info("watch_recovered", f"{request.describe()} can be described again")

    def _resolve_again(self, change: str, moved: Mapping[SecretRequest, CurrentVersion]) -> None:
        try:
            resolution = self.resolve()
        except CalithoError as error:
            self._hold(error.message)
            return
        failures = resolution.failures()
        if failures:
            self._hold(f"{', '.join(result.request.describe() for result, _ in failures)} could not be fetched")
            return  # the versions stay as they were: a later interval tries again
        fetched = versions_of(resolution)
        stale = [r for r, d in moved.items() if not self._acceptable(r, fetched.get(r), d)]
        if stale:
            said = ", ".join(f"{r.describe()} came back at {fetched.get(r)}, not {moved[r].version_id}" for r in stale)
            self._hold(f"an older version than DescribeSecret reported: {said}")
            return
        self.held = 0
        for request, version in fetched.items():
            if self.versions.get(request) not in (None, version):
                self.older.setdefault(request, set()).add(self.versions[request])
            self.versions[request] = version
        environment = resolution.environment()
        if environment == self.environment:
            self.reporter.info("unchanged", f"{change}, but the command's environment is the same: no restart")
            return
        problem = launch_problem(self.argv, environment)
        if problem is not None:  # found before anything is stopped
            self.reporter.warning(
                "restart_held",
                f"not restarting: {problem.message}; {self.argv[0]} keeps running with its values",
                hint=problem.hint,
            )
            return
        self.environment = environment
        delay = spread(self.spread_seconds) if self.probe is not None else 0.0
        self.reporter.info("restart_planned", f"{change}: restarting in {delay:.1f} s", delay=round(delay, 1))
        self.supervisor.restarts.put(Restart(environment, time.monotonic() + delay, change))
        self.supervisor.wake()

    def _acceptable(self, request: SecretRequest, fetched: str | None, described: CurrentVersion) -> bool:
        """The version DescribeSecret reported, or one never seen (a rotation since): never an older one."""
        if fetched == described.version_id:
            return True
        if fetched is not None and fetched.isdigit() and described.version_id.isdigit():  # Parameter Store: 1, 2, ...
            return int(fetched) > int(described.version_id)
        older = self.older.get(request, set()) | described.others | {self.versions.get(request, "")}
        return fetched is not None and fetched not in older

    def _hold(self, reason: str) -> None:
        if self.probe is None:  # development: the next edit of a file tries again, and costs no request
            self.reporter.warning(
                "restart_held", f"not restarting: {reason}; {self.argv[0]} keeps running with its values"
            )
            return
        self.held += 1
        self.reporter.warning(
            "restart_held",
            f"not restarting: {reason}; {self.argv[0]} keeps running with its values; "
            f"trying again in about {self.delay():g} s",
        )


def announce(
    reporter: Reporter,
    resolution: Resolution,
    interval: float,
    secrets: Sequence[SecretRequest],
    files: FileState | None,
) -> None:
    """-v: what is watched, how often, and what the polling costs."""
    if files is not None:
        names = ", ".join(path.name for path in files)
        reporter.info("watching", f"watching the env files {names} every {interval:g} s (by content)")
        return
    secret_calls = len([r for r in secrets if r.kind == SECRET]) * 3600 / interval
    parameters = [r for r in secrets if r.kind == PARAMETER]
    per_region = Counter(r.region for r in parameters)
    parameter_calls = sum(-(-count // GROUP_SIZE) for count in per_region.values()) * 3600 / interval
    reporter.info(
        "watching",
        f"watching {len(secrets)} secret(s) and parameter(s) for a new version every {interval:g} s "
        f"({', '.join(r.describe() for r in secrets) or 'none'}): {secret_calls:.0f} DescribeSecret calls an hour, "
        f"${secret_calls * DESCRIBE_PRICE:.4f} an hour at $0.05 per 10,000"
        + (f"; about {parameter_calls:.0f} GetParameters calls an hour" if parameters else ""),
        secrets=[r.secret_id for r in secrets],
        calls_per_hour=round(secret_calls + parameter_calls),
    )
    unwatched = [f.request.describe() for f in resolution.fetches if f.request not in secrets]
    if unwatched:
        reporter.info(
            "not_watched",
            f"not watched (Parameter Store paths, or pinned to a version): {', '.join(unwatched)}; they are read "
            "again only when a watched secret or parameter changes",
        )


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
    files_before: FileState | None = None,
) -> None:
    """Start the command under a supervisor, and the watcher beside it; returns only by exiting."""
    supervisor = Supervisor(argv, first.environment(), reporter, restart_signal, grace)
    Watcher(supervisor, resolve, reporter, interval, spread_seconds, first, probe, files_before).start()
    supervisor.run()
