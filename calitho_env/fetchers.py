"""The fetcher the commands and the API hand `resolve`, so that core/ names no AWS module.

Development never calls it, so calitho_env.aws (and botocore) is imported on its first call only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calitho_env.core.fetched import FetchResult, SecretFetcher
    from calitho_env.core.secret_requests import SecretRequest
    from calitho_env.core.settings import Settings


def aws_fetcher(settings: Settings) -> SecretFetcher:
    """Secrets Manager and Parameter Store, in the regions, profile and batching `settings` say."""

    def fetch(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        from calitho_env.aws.fetch import fetch_all

        return fetch_all(requests, timeout, settings.batch, settings.region, settings.profile, settings.regions)

    return fetch
