"""One botocore session: credentials and region looked up once, clients made on demand.

botocore directly (boto3 adds import time and nothing we need), one client per region shared
by every worker thread, standard retries, and throttled calls retried until their deadline
(`ThrottleRetries`). SDK exceptions become `FetchFailure` values or `AwsError`s here, so nothing
above this package sees a botocore type.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
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

MAX_ATTEMPTS = 4  # the first call and three retries, for every failure but throttling
SERVICES = ("secretsmanager", "ssm", "sts")
# Answers that say "too many requests": a quota, not a fault, so worth waiting out. botocore's
# standard mode knows the same codes, but gives up on them after MAX_ATTEMPTS like on any other.
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)
BACKOFF_BASE = 1.0  # seconds: the first retry's wait is drawn from [0, 1), as botocore's for throttling
BACKOFF_CAP = 4.0  # seconds: the most one wait can be drawn from, however long the throttling lasts
ANSWER_RESERVE = 0.1  # seconds kept before the deadline for the last retry's answer


class ThrottleRetries:
    """Retry a throttled call with full-jitter exponential backoff for as long as its deadline allows.

    Hooked into one client's events ahead of botocore's standard handler, which keeps every other
    failure (MAX_ATTEMPTS). A call's deadline is `timeout` after it began, or `deadline` (a
    `time.monotonic()` instant: a launch's) when that comes first. No wait ends past the deadline.
    """

    def __init__(
        self,
        timeout: float,
        deadline: float | None = None,
        draw: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._deadline = deadline
        self._draw = draw
        self._clock = clock

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}", self.begin)
        client.meta.events.register_first(f"needs-retry.{service}", self.delay)

    def begin(self, context: dict[str, Any], **_: Any) -> None:
        """Note when this call must end; botocore hands the same context to each of its retries."""
        own = self._clock() + self._timeout
        context["calitho_env_deadline"] = own if self._deadline is None else min(own, self._deadline)

    def delay(
        self, attempts: int, request_dict: Mapping[str, Any], operation: Any, response: Any = None, **_: Any
    ) -> float | None:
        """Seconds to wait before retrying a throttled answer; None leaves any other to botocore's rules.

        Out of time, the throttled answer is the call's answer, raised as botocore raises it when it
        gives up (returning None would let botocore's own rules wait again, past the deadline).
        """
        deadline = request_dict.get("context", {}).get("calitho_env_deadline")
        if deadline is None or not is_throttled(response):
            return None
        left = deadline - self._clock() - ANSWER_RESERVE
        if left <= 0:
            answer: Any = response[1] if isinstance(response[1], dict) else {}
            raise ClientError(answer, str(operation.name))
        return min(self._draw() * min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempts - 1)), float(left))


def is_throttled(response: Any) -> bool:
    """Whether botocore's (http response, parsed answer) pair says the request was throttled."""
    if not isinstance(response, tuple) or len(response) != 2:
        return False
    http, parsed = response
    code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    return code in THROTTLED or getattr(http, "status_code", None) == 429


class KnownServicesLoader(Loader):
    """botocore's data loader without its scan of every model folder, which only checks that a
    service name exists when a client is made; ours are known. A missing model still fails."""

    def list_available_services(self, type_name: str) -> list[str]:
        return list(SERVICES)


class AwsSession:
    def __init__(
        self,
        timeout: float,
        region: str | None = None,
        workers: int = 10,
        profile: str | None = None,
        deadline: float | None = None,
    ) -> None:
        """`deadline`: a `time.monotonic()` instant no throttled call waits past (a launch's); without
        it, each call's own `timeout` from when it began."""
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
        self._throttle_retries = ThrottleRetries(timeout, deadline)
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
                    created = self._session.create_client(service, region_name=key[1], config=config)
                    if not first_try:  # a first try ends at its one attempt: a replica is asked next
                        self._throttle_retries.attach(created)
                    self._clients[key] = created
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
