"""A Python worker that uses calitho-env's API instead of the launcher.

    NODE_ENV=production python examples/api_worker.py

Same resolution as `calitho-env run` (the .env cascade in the working directory, secrets in
production, fallback); values are resolved once per process and cached.
"""

from urllib.parse import urlsplit

from calitho_env import ConfigurationError, get_all_secrets, get_database_url, get_redis_url


def main() -> int:
    try:
        database = urlsplit(get_database_url())
        redis = urlsplit(get_redis_url())
    except ConfigurationError as error:  # e.g. DATABASE_URL missing: exit code 78, as the CLI would
        print(f"worker: {error.message}")
        return error.exit_code
    # Print where to connect, never the credentials in the URL.
    print(f"worker: database {database.hostname}:{database.port or 5432}{database.path}")
    print(f"worker: redis {redis.hostname}:{redis.port or 6379}")
    print(f"worker: {len(get_all_secrets())} variables resolved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
