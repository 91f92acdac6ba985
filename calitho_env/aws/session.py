"""One botocore session: credentials and region looked up once, clients made on demand.

botocore directly (boto3 adds import time and nothing we need), one client per region shared
by every worker thread, standard retries. SDK exceptions become `FetchFailure` values or
`AwsError`s here, so nothing above this package sees a botocore type.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from botocore.loaders import Loader
from botocore.parsers import ResponseParserError

from calitho_env.core.fetched import FetchFailure
from calitho_env.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

MAX_ATTEMPTS = 4  # the first call and three retries: rides out brief throttling
SERVICES = ("secretsmanager", "ssm", "sts")


class KnownServicesLoader(Loader):
    """botocore's data loader without its scan of every model folder, which only checks that a
    service name exists when a client is made; ours are known. A missing model still fails."""

    def list_available_services(self, type_name: str) -> list[str]:
        return list(SERVICES)


class AwsSession:
    def __init__(
        self, timeout: float, region: str | None = None, workers: int = 10, profile: str | None = None
    ) -> None:
        self._session = botocore.session.get_session()
        if profile:
            self._session.set_config_variable("profile", profile)
        data_path = cast("str | None", self._session.get_config_variable("data_path")) or ""
        extra_paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep) if p]
        self._session.register_component("data_loader", KnownServicesLoader(extra_search_paths=extra_paths))
        self._region = region
        self._config = Config(
            connect_timeout=min(timeout, 3.0),
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max(workers, 10),
        )
        # A region that has a replica after it: one attempt and a short connect, so a dead region
        # costs at most its connect timeout before the replica is asked.
        self._first_try = self._config.merge(
            Config(
                connect_timeout=min(timeout / 4, 1.0),
                read_timeout=min(timeout / 3, 3.0),
                retries={"mode": "standard", "total_max_attempts": 1},
            )
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None, bool], Any] = {}

    @functools.cached_property
    def region(self) -> str | None:
        """--region, else AWS_REGION (as ECS and the other SDKs set it), else botocore's own lookup
        (AWS_DEFAULT_REGION, the profile's region)."""
        configured = cast("str | None", self._session.get_config_variable("region"))
        return self._region or os.environ.get("AWS_REGION") or configured

    def load_credentials(self) -> None:
        """Run the credential chain now (container endpoint, credential_process, metadata ...); botocore
        keeps what it found for the clients. No credentials at all is left to each call to report."""
        credentials = self._session.get_credentials()
        if credentials is not None:
            credentials.get_frozen_credentials()

    def credential_source(self) -> str | None:
        """How botocore found credentials: env, shared-credentials-file, container-role, iam-role ..."""
        credentials = self._session.get_credentials()
        return None if credentials is None else str(credentials.method)

    def client(self, service: str, region: str | None = None, first_try: bool = False) -> Any:
        key = (service, region or self.region, first_try)
        config = self._first_try if first_try else self._config
        with self._lock:  # one thread creates; the others wait for it, then share it
            if key not in self._clients:
                try:
                    self._clients[key] = self._session.create_client(service, region_name=key[1], config=config)
                except BotoCoreError as error:  # cached, so the credential chain runs once
                    self._clients[key] = error
            found = self._clients[key]
        if isinstance(found, BotoCoreError):
            raise found
        return found

    def secretsmanager(self, region: str | None = None) -> SecretsManagerClient:
        return cast("SecretsManagerClient", self.client("secretsmanager", region))

    def sts(self) -> STSClient:
        return cast("STSClient", self.client("sts"))


class ParameterMissingError(Exception):
    """GetParameters listed the parameter as invalid: it does not exist (in this region)."""


class InvalidResponseError(Exception):
    """An answer that is not a Secrets Manager response: a proxy's or captive portal's page, a cut-off body."""


class Attempt(NamedTuple):
    """Where one fetch is tried: a region (None: the request's own, an ARN's, or the session's), with
    one short try when a replica comes after it, and the replica's name when it is one."""

    region: str | None = None
    first_try: bool = False
    replica: str | None = None

    def client(self, session: AwsSession, service: str, own_region: str | None) -> Any:
        return session.client(service, self.region or own_region, self.first_try)

    def secret_id(self, secret_id: str) -> str:
        """An ARN names its region: for a replica, the same ARN in the replica's region."""
        if self.region and secret_id.startswith("arn:"):
            parts = secret_id.split(":")
            return ":".join([*parts[:3], self.region, *parts[4:]])
        return secret_id


PRIMARY = Attempt()  # the request's own region, with the standard retries


def failure_of(error: Exception) -> FetchFailure:
    """Reduce an SDK exception to its error code and message (never a secret value)."""
    if isinstance(error, AwsError):
        return FetchFailure(error.code, error.message)
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return FetchFailure(str(details.get("Code") or "Unknown"), str(details.get("Message") or "") or str(error))
    if isinstance(error, ParameterMissingError):
        return FetchFailure("ParameterNotFound", str(error))
    if isinstance(error, InvalidResponseError | ResponseParserError):
        return FetchFailure("InvalidResponse", "the answer was not a Secrets Manager response")
    for kind, code in (
        (NoCredentialsError, "NoCredentials"),
        (NoRegionError, "NoRegion"),
        (ConnectTimeoutError, "ConnectTimeout"),
        (ReadTimeoutError, "ReadTimeout"),
        (EndpointConnectionError, "EndpointConnectionError"),
    ):
        if isinstance(error, kind):
            return FetchFailure(code, str(error))
    return FetchFailure(type(error).__name__, str(error))


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
