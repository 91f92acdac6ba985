"""The only module that imports AWS code. Development mode never imports it.

botocore directly (boto3 adds ~100 ms of import and nothing we need), one session,
one client per region shared by every worker thread, standard retries, and one
deadline over credentials, retries and requests.
"""

from __future__ import annotations

import functools
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
from botocore.loaders import Loader

from calitho_env.fetching import FetchFailure, FetchResult
from calitho_env.references import SecretRequest
from calitho_env.secret_values import FetchedSecret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

MAX_WORKERS = 64
MAX_ATTEMPTS = 4  # the first call and three retries: rides out brief throttling
BATCH_SIZE = 20  # BatchGetSecretValue's limit for SecretIdList


SERVICES = ("secretsmanager", "sts")


class _KnownServicesLoader(Loader):
    """botocore's data loader without its scan of ~400 model folders (~25 ms of listdir and stat per
    client) that only checks that a service name exists; ours are known. A missing model still fails."""

    def list_available_services(self, type_name: str) -> list[str]:
        return list(SERVICES)


class AwsSession:
    """One botocore session: credentials and region are looked up once, clients made on demand."""

    def __init__(self, timeout: float, region: str | None = None, workers: int = 10) -> None:
        self._session = botocore.session.get_session()
        data_path = cast("str | None", self._session.get_config_variable("data_path")) or ""
        extra_paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep) if p]
        self._session.register_component("data_loader", _KnownServicesLoader(extra_search_paths=extra_paths))
        self._region = region
        self._config = Config(
            connect_timeout=min(timeout, 3.0),
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max(workers, 10),
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], Any] = {}

    @functools.cached_property
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


def fetch_batch(session: AwsSession, group: Sequence[SecretRequest]) -> list[FetchedSecret | FetchFailure]:
    """One BatchGetSecretValue for up to 20 secrets of one region; each gets its value or its own error."""
    response = session.secretsmanager(group[0].region).batch_get_secret_value(
        SecretIdList=[request.secret_id for request in group]
    )
    errors = {
        error.get("SecretId"): FetchFailure(str(error.get("ErrorCode", "Unknown")), str(error.get("Message", "")))
        for error in response.get("Errors", [])
    }
    values = response.get("SecretValues", [])
    outcomes: list[FetchedSecret | FetchFailure] = []
    for request in group:
        wanted = request.secret_id
        value = next(
            (v for v in values if wanted in (v.get("Name"), v.get("ARN")) or v.get("ARN", "").startswith(wanted + "-")),
            None,
        )
        if wanted in errors or value is None:
            outcomes.append(errors.get(wanted) or FetchFailure("ResourceNotFoundException", "not in the batch answer"))
        else:
            outcomes.append(FetchedSecret(wanted, value.get("VersionId"), value.get("SecretString")))
    return outcomes


def _groups(requests: Sequence[SecretRequest], batch: bool) -> list[list[SecretRequest]]:
    """One request each; with `batch`, current versions of one region in groups of up to BATCH_SIZE."""
    if not batch:
        return [[request] for request in requests]
    by_region: dict[str | None, list[SecretRequest]] = {}
    singles = []
    for request in requests:
        if request.version_stage or request.version_id:
            singles.append([request])  # BatchGetSecretValue reads AWSCURRENT only
        else:
            by_region.setdefault(request.region, []).append(request)
    chunks = [group[i : i + BATCH_SIZE] for group in by_region.values() for i in range(0, len(group), BATCH_SIZE)]
    return chunks + singles


def fetch_secrets(requests: Sequence[SecretRequest], timeout: float, batch: bool = False) -> list[FetchResult]:
    """Every request at once, all within `timeout`, with one shared client.

    One GetSecretValue per secret; with `batch`, one BatchGetSecretValue per 20 (opt-in: that API
    allows 100 calls a second per region, against GetSecretValue's 10,000, so a fleet starting
    together would be throttled on it).
    """
    groups = _groups(requests, batch)
    workers = min(len(groups), MAX_WORKERS)
    session = AwsSession(timeout, workers=workers)
    started = time.monotonic()

    def timed(group: list[SecretRequest]) -> Callable[[], list[FetchResult]]:
        def call() -> list[FetchResult]:
            begun = time.monotonic()
            outcomes: list[FetchedSecret | FetchFailure]
            try:
                outcomes = fetch_batch(session, group) if len(group) > 1 else [fetch_one(session, group[0])]
            except Exception as error:  # noqa: BLE001 - reported per secret
                outcomes = [failure_of(error)] * len(group)
            elapsed = (time.monotonic() - begun) * 1000
            return [FetchResult(request, outcome, elapsed) for request, outcome in zip(group, outcomes, strict=True)]

        return call

    answers = call_all([timed(group) for group in groups], timeout, workers)
    elapsed = (time.monotonic() - started) * 1000
    results: dict[SecretRequest, FetchResult] = {}
    for group, answer in zip(groups, answers, strict=True):
        if isinstance(answer, FetchFailure):  # the deadline passed first
            results.update((request, FetchResult(request, answer, elapsed)) for request in group)
        else:
            results.update((result.request, result) for result in answer)
    return [results[request] for request in requests]
