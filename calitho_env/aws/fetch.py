"""Every fetch of a launch, at once and within one deadline: Secrets Manager secrets, Parameter Store
parameters and paths, each tried in its replica regions in turn when its region is failing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from calitho_env.aws.deadline import MAX_WORKERS, call_all
from calitho_env.aws.regions import check_region_names
from calitho_env.aws.secretsmanager import BATCH_SIZE, fetch_batch, fetch_one
from calitho_env.aws.session import Attempt, AwsSession, failure_of
from calitho_env.aws.ssm import GROUP_SIZE, fetch_parameters, fetch_path
from calitho_env.core.fetched import FetchedPath, FetchedSecret, FetchFailure, FetchResult
from calitho_env.core.secret_requests import PARAMETER, PATH, SecretRequest

Outcome = FetchedSecret | FetchedPath | FetchFailure
GroupCall = Callable[[AwsSession, list[SecretRequest], Attempt], list[Outcome]]

# What a region's outage looks like: worth asking a replica. Not found, access denied and KMS
# failures are the same in every region.
REGIONAL = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeout",
        "ReadTimeout",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "InternalServiceError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "InvalidResponse",
    }
)


def is_regional(failure: FetchFailure) -> bool:
    return failure.code in REGIONAL or (failure.code.isdigit() and int(failure.code) >= 500)


def credentials_failure(failure: FetchFailure, timeout: float) -> FetchFailure:
    """A failure while finding credentials, named so that its hint is about credentials."""
    if failure.code == "Timeout":
        return FetchFailure("CredentialsTimeout", f"the credential provider did not answer within {timeout:g} s")
    if failure.code.startswith("Credential") or failure.code == "NoCredentials":
        return failure
    return FetchFailure("CredentialRetrievalError", f"{failure.code}: {failure.message}")


def groups(requests: Sequence[SecretRequest], batch: bool) -> list[tuple[GroupCall, list[SecretRequest]]]:
    """The calls to make, each with its requests: a GetSecretValue per secret (with `batch`, a
    BatchGetSecretValue per 20 current versions of a region), a GetParameters per 10 parameters of
    a region, a GetParametersByPath (all pages) per path."""
    calls: list[tuple[GroupCall, list[SecretRequest]]] = []
    batched: dict[str | None, list[SecretRequest]] = {}
    parameters: dict[str | None, list[SecretRequest]] = {}
    for request in requests:
        if request.kind == PATH:
            calls.append((_path, [request]))
        elif request.kind == PARAMETER:
            parameters.setdefault(request.region, []).append(request)
        elif batch and not (request.version_stage or request.version_id):  # the batch reads AWSCURRENT only
            batched.setdefault(request.region, []).append(request)
        else:
            calls.append((_one, [request]))
    calls += [(_batch, chunk) for chunk in _chunks(batched, BATCH_SIZE)]
    calls += [(_parameters, chunk) for chunk in _chunks(parameters, GROUP_SIZE)]
    return calls


def _chunks(by_region: dict[str | None, list[SecretRequest]], size: int) -> list[list[SecretRequest]]:
    return [group[i : i + size] for group in by_region.values() for i in range(0, len(group), size)]


def _one(session: AwsSession, group: list[SecretRequest], attempt: Attempt) -> list[Outcome]:
    return [fetch_one(session, group[0], attempt)]


def _batch(session: AwsSession, group: list[SecretRequest], attempt: Attempt) -> list[Outcome]:
    return list(fetch_batch(session, group, attempt))


def _parameters(session: AwsSession, group: list[SecretRequest], attempt: Attempt) -> list[Outcome]:
    return list(fetch_parameters(session, group, attempt))


def _path(session: AwsSession, group: list[SecretRequest], attempt: Attempt) -> list[Outcome]:
    return [fetch_path(session, group[0], attempt)]


def fetch_all(
    requests: Sequence[SecretRequest],
    timeout: float,
    batch: bool = False,
    region: str | None = None,
    profile: str | None = None,
    regions: Sequence[str] = (),
) -> list[FetchResult]:
    """Every request at once, all within `timeout`, with one shared session.

    With `regions` (the first the primary), a group whose call fails the way a regional outage
    does is asked again in the next region, before any fallback to env files.
    """
    check_region_names(regions)
    planned = groups(requests, batch)
    workers = min(len(planned), MAX_WORKERS)
    started = time.monotonic()
    primary = region or (regions[0] if regions else None)
    # A throttled call waits and retries until the launch's deadline, never past it.
    session = AwsSession(timeout, region=primary, workers=workers, profile=profile, deadline=started + timeout)
    # Credentials first, on their own: a hanging container endpoint or credential_process is then
    # reported as what it is, not as Secrets Manager being unreachable.
    (credentials,) = call_all([session.load_credentials], timeout)
    if isinstance(credentials, FetchFailure):
        failure = credentials_failure(credentials, timeout)
        return [FetchResult(request, failure, (time.monotonic() - started) * 1000) for request in requests]
    remaining = timeout - (time.monotonic() - started)

    def timed(call: GroupCall, group: list[SecretRequest]) -> Callable[[], list[FetchResult]]:
        def run() -> list[FetchResult]:
            begun = time.monotonic()
            outcomes: list[Outcome] = []
            failovers: list[tuple[str, str]] = []
            attempts = _attempts(group[0].region or session.region, regions)
            where = None
            for index, attempt in enumerate(attempts):
                where = attempt.region or group[0].region or session.region
                try:
                    outcomes = call(session, group, attempt)
                except Exception as error:  # noqa: BLE001 - reported per secret
                    outcomes = [failure_of(error)] * len(group)
                failed = [o for o in outcomes if isinstance(o, FetchFailure)]
                if index + 1 == len(attempts) or len(failed) < len(outcomes) or not all(map(is_regional, failed)):
                    break
                failovers.append((where or "?", failed[0].code))
            elapsed = (time.monotonic() - begun) * 1000
            return [
                FetchResult(request, outcome, elapsed, tuple(failovers), where)
                for request, outcome in zip(group, outcomes, strict=True)
            ]

        return run

    answers = call_all([timed(call, group) for call, group in planned], remaining, workers)
    elapsed = (time.monotonic() - started) * 1000
    results: dict[SecretRequest, FetchResult] = {}
    for (_, group), answer in zip(planned, answers, strict=True):
        if isinstance(answer, FetchFailure):  # the deadline passed first
            results.update((request, FetchResult(request, answer, elapsed)) for request in group)
        else:
            results.update((result.request, result) for result in answer)
    return [results[request] for request in requests]


def _attempts(own: str | None, regions: Sequence[str]) -> list[Attempt]:
    """The request's own region first (an ARN's, else the primary), then each other replica region;
    every one but the last tried once, with a short connect."""
    if not regions:
        return [Attempt()]
    order = [own, *[r for r in regions if r != own]] if own else list(regions)
    return [
        Attempt(region, first_try=index + 1 < len(order), replica=region if index else None)
        for index, region in enumerate(order)
    ]
