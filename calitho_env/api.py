"""The Python API for workers (docs/commands.md "Python API"): the getters of a TypeScript `lib/secrets`, in Python.

Same resolution as `run`, from the process environment and the working directory; resolved once
per process (thread-safe) until `clear_secrets_cache()`, or again once older than `max_age`
seconds (or CALITHO_ENV_CACHE_TTL). A refresh that fails, or that would fall back for any secret,
keeps the last good values and logs a warning (stale-on-error, as the AWS caching libraries do).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from calitho_env.core.resolution import Resolution, resolve
from calitho_env.core.settings import build_settings
from calitho_env.errors import CalithoError, ConfigurationError, MissingVariablesError
from calitho_env.fetchers import aws_fetcher

logger = logging.getLogger("calitho_env")
_lock = threading.Lock()
_cached: Resolution | None = None
_resolved_at = 0.0


def _resolution(max_age: float | None = None) -> Resolution:
    global _cached, _resolved_at
    age_limit = max_age if max_age is not None else _ttl()
    with _lock:  # 32 threads asking at once still make one fetch per secret
        now = time.monotonic()
        if _cached is None:
            _cached, _resolved_at = _logged(_resolve_keeping_no_frames()), now
        elif age_limit is not None and now - _resolved_at > age_limit:
            _cached, _resolved_at = _refreshed(_cached), now
        return _cached


def _refreshed(last_good: Resolution) -> Resolution:
    try:
        fresh = _resolve_keeping_no_frames()
    except CalithoError as error:
        logger.warning("refreshing the secrets failed (%s); keeping the last good values", error.message)
        return last_good
    failed = [result.request.describe() for result, _ in fresh.failures()]
    if failed:
        logger.warning(
            "refreshing the secrets: %s could not be fetched; keeping the last good values", ", ".join(failed)
        )
        return last_good
    return _logged(fresh)


def _logged(resolution: Resolution) -> Resolution:
    for notice in resolution.notices:
        level = {"error": logging.ERROR, "warning": logging.WARNING}.get(notice.level, logging.INFO)
        logger.log(level, notice.message, extra={"event": notice.event, **notice.fields})
    return resolution


def _ttl() -> float | None:
    raw = os.environ.get("CALITHO_ENV_CACHE_TTL", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ConfigurationError("CALITHO_ENV_CACHE_TTL is not a number of seconds", hint="e.g. 300")
    return seconds


def _resolve_keeping_no_frames() -> Resolution:
    """resolve(), whose errors reach the caller without the frames they were raised in.

    Error trackers capture every frame's locals, and the resolver's hold secret values; what a
    CalithoError says (names, ids, codes) is all the caller needs.
    """
    failure: CalithoError | None = None
    try:
        settings = build_settings(os.environ)
        return resolve(settings, os.environ, aws_fetcher(settings))
    except CalithoError as error:
        failure = error.with_traceback(None)
        failure.__cause__ = failure.__context__ = None
        failure.__suppress_context__ = True
    raise failure


def get_all_secrets(max_age: float | None = None) -> dict[str, str]:
    """Every variable the env files, mappings and references define, resolved."""
    resolution = _resolution(max_age)
    return {name: resolution.variables[name].value for name in resolution.injected}


def get_secret(name: str, max_age: float | None = None) -> str:
    """One resolved variable (injected or inherited); MissingVariablesError (exit code 78) if unset or empty.

    `max_age`: resolve again first when the values are older than this many seconds.
    """
    binding = _resolution(max_age).variables.get(name)
    if binding is None or not binding.value:
        raise MissingVariablesError([name])
    return binding.value


def get_database_url(max_age: float | None = None) -> str:
    return get_secret("DATABASE_URL", max_age)


def get_nextauth_secret(max_age: float | None = None) -> str:
    return get_secret("NEXTAUTH_SECRET", max_age)


def get_redis_url(max_age: float | None = None) -> str:
    return get_secret("REDIS_URL", max_age)


def clear_secrets_cache() -> None:
    """Forget the resolved values: the next call reads files and fetches secrets again."""
    global _cached
    with _lock:
        _cached = None
