"""calitho-env: give a process its secrets. Importing this package imports no AWS code."""

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
