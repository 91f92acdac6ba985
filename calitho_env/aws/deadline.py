"""Run AWS calls concurrently, all within one deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from calitho_env.aws.session import failure_of
from calitho_env.core.fetched import FetchFailure

MAX_WORKERS = 64
T = TypeVar("T")


def call_all(calls: Sequence[Callable[[], T]], timeout: float, workers: int | None = None) -> list[T | FetchFailure]:
    """Run every call at once on daemon threads; each gives its result, its failure, or Timeout.

    Daemon threads, not an executor: a call still stuck at the deadline must not keep
    `print` or `check` from exiting, and `run` execs over it anyway.
    """
    deadline = time.monotonic() + timeout
    results: dict[int, T | FetchFailure] = {}
    pending = list(enumerate(calls))
    done = threading.Condition()

    def work() -> None:
        while True:
            with done:
                if not pending:
                    return
                index, call = pending.pop(0)
            try:
                outcome: T | FetchFailure = call()
            except Exception as error:  # noqa: BLE001 - every failure becomes a reported outcome
                outcome = failure_of(error)
            with done:
                results[index] = outcome
                done.notify_all()

    for _ in range(min(len(calls), workers or MAX_WORKERS)):
        threading.Thread(target=work, daemon=True, name="calitho-env-aws").start()
    with done:
        while len(results) < len(calls) and (remaining := deadline - time.monotonic()) > 0:
            done.wait(remaining)
        timed_out = FetchFailure("Timeout", f"no answer within {timeout:g} s")
        return [results.get(index, timed_out) for index in range(len(calls))]
