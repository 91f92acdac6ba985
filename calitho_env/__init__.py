"""calitho-env: give a process its secrets. Importing this package imports no AWS code.

The Python API is loaded on first use, so `calitho-env run` does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calitho_env.api import (
        clear_secrets_cache,
        get_all_secrets,
        get_database_url,
        get_nextauth_secret,
        get_redis_url,
        get_secret,
    )
    from calitho_env.errors import (
        CalithoError,
        ConfigurationError,
        MissingVariablesError,
        SecretUnavailableError,
    )

__all__ = [
    "CalithoError",
    "ConfigurationError",
    "MissingVariablesError",
    "SecretUnavailableError",
    "clear_secrets_cache",
    "get_all_secrets",
    "get_database_url",
    "get_nextauth_secret",
    "get_redis_url",
    "get_secret",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'calitho_env' has no attribute {name!r}")
    from calitho_env import api, errors  # the error classes are capitalised, the API's functions are not

    return getattr(errors if name[0].isupper() else api, name)
