"""The AWS adapter: the only package that imports botocore. Development never imports it.

`session` makes clients and turns SDK exceptions into our own errors, `deadline` runs calls
concurrently within one deadline, and each service has a module of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calitho_env.core.fetched import FetchResult, SecretFetcher
    from calitho_env.core.secret_requests import SecretRequest
    from calitho_env.core.settings import Settings


def aws_fetcher(settings: Settings) -> SecretFetcher:
    """What a command or the API hands `resolve`: Secrets Manager and Parameter Store as `settings` say."""

    def fetch(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        from calitho_env.aws.fetch import fetch_all  # only a launch that fetches pays for importing botocore

        return fetch_all(requests, timeout, settings.batch, settings.region, settings.profile, settings.regions)

    return fetch
