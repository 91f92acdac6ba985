"""The Python API for workers (README "Python API"): the getters of a TypeScript `lib/secrets`, in Python.

Same resolution as `run`, from the process environment and the working directory;
resolved once per process (thread-safe) until `clear_secrets_cache()`.
"""

from __future__ import annotations

import logging
import os
import threading

from calitho_env.core.resolution import Resolution, resolve
from calitho_env.core.settings import build_settings
from calitho_env.errors import CalithoError, MissingVariablesError

logger = logging.getLogger("calitho_env")
_lock = threading.Lock()
_cached: Resolution | None = None


def _resolution() -> Resolution:
    global _cached
    with _lock:  # 32 threads asking at once still make one fetch per secret
        if _cached is None:
            resolution = _resolve_keeping_no_frames()
            for notice in resolution.notices:
                level = {"error": logging.ERROR, "warning": logging.WARNING}.get(notice.level, logging.INFO)
                logger.log(level, notice.message, extra={"event": notice.event, **notice.fields})
            _cached = resolution
        return _cached


def _resolve_keeping_no_frames() -> Resolution:
    """resolve(), whose errors reach the caller without the frames they were raised in.

    Error trackers capture every frame's locals, and the resolver's hold secret values; what a
    CalithoError says (names, ids, codes) is all the caller needs.
    """
    failure: CalithoError | None = None
    try:
        return resolve(build_settings(os.environ), os.environ)
    except CalithoError as error:
        failure = error.with_traceback(None)
        failure.__cause__ = failure.__context__ = None
        failure.__suppress_context__ = True
    raise failure


def get_all_secrets() -> dict[str, str]:
    """Every variable the env files, mappings and references define, resolved."""
    resolution = _resolution()
    return {name: resolution.variables[name].value for name in resolution.injected}


def get_secret(name: str) -> str:
    """One resolved variable (injected or inherited); MissingVariablesError (exit code 78) if unset or empty."""
    binding = _resolution().variables.get(name)
    if binding is None or not binding.value:
        raise MissingVariablesError([name])
    return binding.value


def get_database_url() -> str:
    return get_secret("DATABASE_URL")


def get_nextauth_secret() -> str:
    return get_secret("NEXTAUTH_SECRET")


def get_redis_url() -> str:
    return get_secret("REDIS_URL")


def clear_secrets_cache() -> None:
    """Forget the resolved values: the next call reads files and fetches secrets again."""
    global _cached
    with _lock:
        _cached = None
