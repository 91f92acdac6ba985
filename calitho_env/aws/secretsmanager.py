"""Secrets Manager: the reads of every launch, and the reads and writes of the operator commands."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from botocore.exceptions import ClientError

from calitho_env.aws.deadline import call_all
from calitho_env.aws.session import (
    PRIMARY,
    Attempt,
    AwsSession,
    InvalidResponseError,
    ParameterMissingError,
    error_code,
    failure_of,
)
from calitho_env.core.fetched import CurrentVersion, FetchedPath, FetchedSecret, FetchFailure
from calitho_env.core.secret_requests import PARAMETER, PATH, SECRET, SecretRequest
from calitho_env.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

BATCH_SIZE = 20  # BatchGetSecretValue's limit for SecretIdList
T = TypeVar("T")


def fetch_one(session: AwsSession, request: SecretRequest, attempt: Attempt = PRIMARY) -> FetchedSecret:
    arguments: dict[str, str] = {"SecretId": attempt.secret_id(request.secret_id)}
    if request.version_id:
        arguments["VersionId"] = request.version_id
    if request.version_stage or not request.version_id:
        arguments["VersionStage"] = request.version_stage or "AWSCURRENT"  # moto's server errs without it
    client = attempt.client(session, "secretsmanager", request.region)
    try:
        response = client.get_secret_value(**arguments)
    except (AttributeError, TypeError, KeyError, ValueError):  # botocore's parser met a body of another shape
        raise InvalidResponseError from None
    return _fetched(request.secret_id, response, attempt.replica)


def _fetched(secret_id: str, answer: Mapping[str, Any], replica: str | None = None) -> FetchedSecret:
    """A GetSecretValue answer, or one entry of a batch answer, that really is one.

    botocore gives `{}` for an HTTP 200 whose body is not JSON (a captive portal's page, a
    truncated answer): that is the network failing, not the secret being binary.
    """
    text, binary = answer.get("SecretString"), answer.get("SecretBinary")
    version, arn = answer.get("VersionId"), answer.get("ARN")
    if not (isinstance(version, str) and isinstance(arn, str) and (isinstance(text, str) or isinstance(binary, bytes))):
        raise InvalidResponseError
    return FetchedSecret(secret_id, version, text if isinstance(text, str) else None, replica_region=replica)


def answers(request: SecretRequest, entry: Mapping[str, Any]) -> bool:
    """Whether a batch answer's entry is the secret `request` asked for: by full ARN, by name, or by
    partial ARN, which the answer's ARN extends by '-' and exactly six characters (never a longer name)."""
    wanted, arn, name = request.secret_id, entry.get("ARN"), entry.get("Name")
    if not isinstance(arn, str):
        return False
    if wanted in (arn, name):
        return True
    same_name = name is None or wanted.endswith(f":secret:{name}")
    return wanted.startswith("arn:") and len(arn) == len(wanted) + 7 and arn.startswith(wanted + "-") and same_name


def fetch_batch(
    session: AwsSession, group: Sequence[SecretRequest], attempt: Attempt = PRIMARY
) -> list[FetchedSecret | FetchFailure]:
    """One BatchGetSecretValue for up to 20 secrets of one region; each gets its value or its own error."""
    asked = [request._replace(secret_id=attempt.secret_id(request.secret_id)) for request in group]
    client = attempt.client(session, "secretsmanager", group[0].region)
    response = client.batch_get_secret_value(SecretIdList=[request.secret_id for request in asked])
    if not isinstance(response.get("SecretValues", []), list) or not isinstance(response.get("Errors", []), list):
        raise InvalidResponseError
    errors = {
        error.get("SecretId"): FetchFailure(str(error.get("ErrorCode") or "Unknown"), str(error.get("Message") or ""))
        for error in response.get("Errors", [])
    }
    values = response.get("SecretValues", [])
    outcomes: list[FetchedSecret | FetchFailure] = []
    for request, sent in zip(group, asked, strict=True):
        entry = next((value for value in values if answers(sent, value)), None)
        if sent.secret_id in errors or entry is None:
            missing = FetchFailure("ResourceNotFoundException", "not in the batch answer")
            outcomes.append(errors.get(sent.secret_id) or missing)
        else:
            outcomes.append(_outcome(functools.partial(_fetched, request.secret_id, entry, attempt.replica)))
    return outcomes


class StoredSecret(NamedTuple):
    secret_string: str | None  # None when the secret is binary
    version_id: str
    arn: str


class SecretVersion(NamedTuple):
    version_id: str
    stages: tuple[str, ...]
    created: datetime | None


class SecretStore:
    """Secrets Manager for `setup` and `rotate`: every call ends by one deadline, and every SDK
    error is raised as an AwsError saying what was being done."""

    def __init__(self, session: AwsSession, timeout: float, region: str | None = None) -> None:
        self._session = session
        self._region = region
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout

    def restart_deadline(self) -> None:
        """After a question to the user: the time spent answering is not the network's."""
        self._deadline = time.monotonic() + self._timeout

    def _call(self, action: str, call: Callable[[], T], api: str | None = None) -> T:
        (outcome,) = call_all([call], max(self._deadline - time.monotonic(), 0.001))
        if isinstance(outcome, FetchFailure):
            if outcome.code == "Timeout":
                outcome = FetchFailure("Timeout", f"no answer within --timeout ({self._timeout:g} s)")
            message = f"{action}: AWS call failed: {outcome.code}: {outcome.message}"
            hint = _denied_hint(api) if api and "Denied" in outcome.code else outcome.hint
            raise AwsError(message, outcome.code, hint)
        return outcome

    @property
    def _client(self) -> SecretsManagerClient:
        return self._session.secretsmanager(self._region)

    def read(self, secret_id: str, version_id: str | None = None) -> StoredSecret | None:
        """The current version (or `version_id`), or None when the secret does not exist."""

        def get() -> StoredSecret | None:
            try:
                if version_id:
                    response = self._client.get_secret_value(SecretId=secret_id, VersionId=version_id)
                else:
                    response = self._client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    return None
                raise
            return StoredSecret(response.get("SecretString"), response["VersionId"], response["ARN"])

        return self._call(f"reading {secret_id}", get)

    def create(
        self, name: str, secret_string: str, description: str, kms_key_id: str | None, tags: Mapping[str, str]
    ) -> tuple[str, str]:
        """The new secret's version id and ARN."""
        extra: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
        if tags:
            extra["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]

        def create() -> tuple[str, str]:
            answer = self._client.create_secret(Name=name, Description=description, SecretString=secret_string, **extra)
            return answer["VersionId"], answer["ARN"]

        return self._call(f"creating {name}", create)

    def put(self, secret_id: str, secret_string: str, stage: str = "AWSCURRENT") -> str:
        return self._call(
            f"writing {secret_id}",
            lambda: self._client.put_secret_value(
                SecretId=secret_id, SecretString=secret_string, VersionStages=[stage]
            )["VersionId"],
            "PutSecretValue",
        )

    def move_stage(self, secret_id: str, stage: str, to_version: str | None, from_version: str | None) -> bool:
        """Move a staging label; False when it is no longer on `from_version` (someone moved it first).

        Moving AWSCURRENT this way is Secrets Manager's only compare-and-swap.
        """

        def move() -> bool:
            arguments = {"SecretId": secret_id, "VersionStage": stage}
            if to_version:
                arguments["MoveToVersionId"] = to_version
            if from_version:
                arguments["RemoveFromVersionId"] = from_version
            try:
                self._client.update_secret_version_stage(**arguments)
            except ClientError as error:
                if error_code(error) == "InvalidParameterException":
                    return False
                raise
            return True

        return self._call(f"moving {stage} of {secret_id}", move, "UpdateSecretVersionStage")

    def versions(self, secret_id: str) -> list[SecretVersion] | None:
        """Every version that has a label (ListSecretVersionIds, all pages), or None when the secret does not exist."""

        def list_versions() -> list[SecretVersion] | None:
            found: list[SecretVersion] = []
            arguments: dict[str, Any] = {"SecretId": secret_id}
            try:  # moto's server answers a 500 instead of ResourceNotFoundException to a listing of no secret
                self._client.describe_secret(SecretId=secret_id)
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    return None
                raise
            for _ in range(100):  # a secret holds at most about 100 versions; a token loop must end
                try:
                    answer = self._client.list_secret_version_ids(**arguments)
                except ClientError as error:
                    if error_code(error) == "ResourceNotFoundException":
                        return None
                    raise
                for entry in answer.get("Versions", []):
                    found.append(
                        SecretVersion(
                            str(entry["VersionId"]), tuple(entry.get("VersionStages", ())), entry.get("CreatedDate")
                        )
                    )
                if not answer.get("NextToken"):
                    break
                arguments["NextToken"] = answer["NextToken"]
            return found

        return self._call(f"listing the versions of {secret_id}", list_versions, "ListSecretVersionIds")

    def tag(self, secret_id: str, tags: Mapping[str, str]) -> None:
        tag_list: Any = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._call(f"tagging {secret_id}", lambda: self._client.tag_resource(SecretId=secret_id, Tags=tag_list))

    def set_kms_key(self, secret_id: str, kms_key_id: str) -> None:
        self._call(f"updating {secret_id}", lambda: self._client.update_secret(SecretId=secret_id, KmsKeyId=kms_key_id))


def _denied_hint(api: str) -> str:
    """The permission the failed call needed, not GetSecretValue's (the launch's)."""
    return f"ensure the IAM role/user has secretsmanager:{api} on this secret (`calitho-env iam-policy --for setup`)"


class SecretDescription(NamedTuple):
    """What DescribeSecret says, reduced to what `check` reports."""

    scheduled_for_deletion: bool
    created: datetime | None
    last_changed: datetime | None
    last_rotated: datetime | None


class SecretLookup(NamedTuple):
    """`check`'s look at one secret (or parameter, or path): its description and its value, each or its failure."""

    request: SecretRequest
    description: SecretDescription | FetchFailure
    value: FetchedSecret | FetchedPath | FetchFailure


def fetch_parameter_or_path(session: AwsSession, request: SecretRequest) -> FetchedSecret | FetchedPath:
    from calitho_env.aws.ssm import fetch_parameters, fetch_path

    if request.kind == PATH:
        return fetch_path(session, request, PRIMARY)
    (outcome,) = fetch_parameters(session, [request], PRIMARY)
    if isinstance(outcome, FetchFailure):
        raise ParameterMissingError(outcome.message)
    return outcome


def describe(session: AwsSession, request: SecretRequest) -> SecretDescription:
    answer = session.secretsmanager(request.region).describe_secret(SecretId=request.secret_id)
    return SecretDescription(
        "DeletedDate" in answer, answer.get("CreatedDate"), answer.get("LastChangedDate"), answer.get("LastRotatedDate")
    )


def look_up_secrets(session: AwsSession, requests: Sequence[SecretRequest], timeout: float) -> list[SecretLookup]:
    """DescribeSecret, then GetSecretValue, of every request at once, all within `timeout`."""

    def look_up(request: SecretRequest) -> SecretLookup:
        if request.kind != SECRET:  # Parameter Store: its value says all there is to say
            value = _outcome(functools.partial(fetch_parameter_or_path, session, request))
            described = value if isinstance(value, FetchFailure) else SecretDescription(False, None, None, None)
            return SecretLookup(request, described, value)
        description = _outcome(functools.partial(describe, session, request))
        return SecretLookup(request, description, _outcome(functools.partial(fetch_one, session, request)))

    answers = call_all([functools.partial(look_up, request) for request in requests], timeout)
    return [
        answer if isinstance(answer, SecretLookup) else SecretLookup(request, answer, answer)
        for request, answer in zip(requests, answers, strict=True)
    ]


def _outcome(call: Callable[[], T]) -> T | FetchFailure:
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - each failure is reported with its secret
        return failure_of(error)


def current_versions(
    requests: Sequence[SecretRequest], timeout: float, region: str | None = None, profile: str | None = None
) -> Callable[[], dict[SecretRequest, CurrentVersion | FetchFailure]]:
    """A probe for `run --watch`: each call asks, all at once, DescribeSecret of every secret (never
    GetSecretValue) and GetParameters (without decryption, 10 a call) of every parameter, and gives
    each its versions, or its own failure: one that cannot be asked does not hide the others."""
    from calitho_env.aws.ssm import GROUP_SIZE, parameter_versions

    secrets = [request for request in requests if request.kind == SECRET]
    by_region: dict[str | None, list[SecretRequest]] = {}
    for request in requests:
        if request.kind == PARAMETER:
            by_region.setdefault(request.region, []).append(request)
    groups = [group[i : i + GROUP_SIZE] for group in by_region.values() for i in range(0, len(group), GROUP_SIZE)]
    session = AwsSession(timeout, region=region, workers=max(len(secrets) + len(groups), 1), profile=profile)

    def current(request: SecretRequest) -> list[CurrentVersion | FetchFailure]:
        answer = session.secretsmanager(request.region).describe_secret(SecretId=request.secret_id)
        stages = answer.get("VersionIdsToStages", {})
        if not isinstance(stages, dict):
            raise InvalidResponseError
        now = [version for version, labels in stages.items() if "AWSCURRENT" in labels]
        if len(now) != 1:
            raise InvalidResponseError
        return [CurrentVersion(now[0], frozenset(stages) - {now[0]})]

    asked = [[request] for request in secrets] + groups
    calls = [functools.partial(current, request) for request in secrets]
    calls += [functools.partial(parameter_versions, session, group) for group in groups]

    def probe() -> dict[SecretRequest, CurrentVersion | FetchFailure]:
        answers: dict[SecretRequest, CurrentVersion | FetchFailure] = {}
        for group, answer in zip(asked, call_all(calls, timeout), strict=True):
            outcomes = [answer] * len(group) if isinstance(answer, FetchFailure) else answer
            answers.update(zip(group, outcomes, strict=True))
        return answers

    return probe
