"""The only module that imports AWS code. Development mode never imports it.

botocore directly (boto3 adds ~100 ms of import and nothing we need), one session,
one client per region shared by every worker thread, standard retries, and one
deadline over credentials, retries and requests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

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

from calitho_env.fetching import FetchFailure, FetchResult
from calitho_env.references import SecretRequest
from calitho_env.secret_values import FetchedSecret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

MAX_WORKERS = 64
MAX_ATTEMPTS = 4  # the first call and three retries: rides out brief throttling


class AwsSession:
    """One botocore session: credentials and region are looked up once, clients made on demand."""

    def __init__(self, timeout: float, region: str | None = None, workers: int = 10) -> None:
        self._session = botocore.session.get_session()
        self._region = region
        self._config = Config(
            connect_timeout=min(timeout, 3.0),
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max(workers, 10),
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], Any] = {}

    @property
    def region(self) -> str | None:
        """--region, else AWS_REGION (as ECS and the other SDKs set it), else botocore's own lookup."""
        configured = cast("str | None", self._session.get_config_variable("region"))
        return self._region or os.environ.get("AWS_REGION") or configured

    def credential_source(self) -> str | None:
        """How botocore found credentials: env, shared-credentials-file, container-role, iam-role ..."""
        credentials = self._session.get_credentials()
        return None if credentials is None else str(credentials.method)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:  # one thread creates; the others wait for it, then share it
            if key not in self._clients:
                try:
                    self._clients[key] = self._session.create_client(service, region_name=key[1], config=self._config)
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


def failure_of(error: Exception) -> FetchFailure:
    """Reduce an SDK exception to its error code and message (never a secret value)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return FetchFailure(str(details.get("Code", "Unknown")), str(details.get("Message", "")) or str(error))
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


def fetch_one(session: AwsSession, request: SecretRequest) -> FetchedSecret:
    arguments: dict[str, str] = {"SecretId": request.secret_id}
    if request.version_id:
        arguments["VersionId"] = request.version_id
    if request.version_stage:
        arguments["VersionStage"] = request.version_stage
    response = session.secretsmanager(request.region).get_secret_value(**arguments)
    return FetchedSecret(request.secret_id, response.get("VersionId"), response.get("SecretString"))


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


def fetch_secrets(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
    """GetSecretValue for every request at once, all within `timeout`, with one shared client."""
    workers = min(len(requests), MAX_WORKERS)
    session = AwsSession(timeout, workers=workers)
    started = time.monotonic()

    def timed(request: SecretRequest) -> Callable[[], FetchResult]:
        def call() -> FetchResult:
            begun = time.monotonic()
            try:
                outcome: FetchedSecret | FetchFailure = fetch_one(session, request)
            except Exception as error:  # noqa: BLE001 - reported per secret
                outcome = failure_of(error)
            return FetchResult(request, outcome, (time.monotonic() - begun) * 1000)

        return call

    outcomes = call_all([timed(request) for request in requests], timeout, workers)
    elapsed = (time.monotonic() - started) * 1000
    return [
        outcome if isinstance(outcome, FetchResult) else FetchResult(request, outcome, elapsed)
        for request, outcome in zip(requests, outcomes, strict=True)
    ]
