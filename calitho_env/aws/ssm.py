"""Parameter Store: parameters referenced by ARN (GetParameters, 10 a call) and whole paths
(GetParametersByPath, recursive, every page). SecureString values are decrypted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from calitho_env.aws.session import Attempt, AwsSession, InvalidResponseError
from calitho_env.core.fetched import CurrentVersion, FetchedPath, FetchedSecret, FetchFailure
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.errors import AwsError

GROUP_SIZE = 10  # GetParameters' limit for Names
MAX_PATH_PAGES = 200  # GetParametersByPath gives at most 10 a page: 2,000 parameters under one path
MAX_PATH_BYTES = 4 << 20  # the names and values of one path: twice what execve takes, anyway


def fetch_parameters(
    session: AwsSession, group: Sequence[SecretRequest], attempt: Attempt
) -> list[FetchedSecret | FetchFailure]:
    """One GetParameters for up to 10 parameters of one region; each gets its value or its own failure."""
    client = attempt.client(session, "ssm", group[0].region)
    answer = client.get_parameters(Names=[r.secret_id for r in group], WithDecryption=True)
    found = {p.get("Name"): p for p in _list(answer, "Parameters")}
    outcomes: list[FetchedSecret | FetchFailure] = []
    for request in group:
        parameter = found.get(request.secret_id)
        if parameter is None:
            outcomes.append(FetchFailure("ParameterNotFound", f"no parameter {request.secret_id} in this region"))
        else:
            value, version = _value(parameter), _version(parameter)
            outcomes.append(FetchedSecret(request.secret_id, version, value, "ssm", attempt.replica))
    return outcomes


def parameter_versions(session: AwsSession, group: Sequence[SecretRequest]) -> list[CurrentVersion | FetchFailure]:
    """Each parameter's current version: one GetParameters for up to 10 of one region, without
    decryption (for `run --watch`: no value is decrypted, and none is kept)."""
    answer = session.client("ssm", group[0].region).get_parameters(
        Names=[r.secret_id for r in group], WithDecryption=False
    )
    found = {p.get("Name"): p for p in _list(answer, "Parameters")}
    return [
        CurrentVersion(_version(found[r.secret_id]), frozenset())
        if r.secret_id in found
        else FetchFailure("ParameterNotFound", f"no parameter {r.secret_id} in this region")
        for r in group
    ]


def fetch_path(session: AwsSession, request: SecretRequest, attempt: Attempt) -> FetchedPath:
    """Every parameter under the path, all pages of GetParametersByPath, within MAX_PATH_PAGES and
    MAX_PATH_BYTES: an answer that never ends (a NextToken that always comes back) is an error."""
    client = attempt.client(session, "ssm", request.region)
    parameters = []
    size = 0
    token = None
    for _ in range(MAX_PATH_PAGES):
        arguments: dict[str, Any] = {"Path": request.secret_id, "Recursive": True, "WithDecryption": True}
        if token:
            arguments["NextToken"] = token
        answer = client.get_parameters_by_path(**arguments)
        page = [(str(p["Name"]), _value(p), _version(p)) for p in _list(answer, "Parameters")]
        size += sum(len(name) + len(value) for name, value, _ in page)
        if size > MAX_PATH_BYTES:
            raise AwsError(
                f"path {request.secret_id} holds more than {MAX_PATH_BYTES >> 20} MiB of names and values "
                "(GetParametersByPath): more than a process environment can carry",
                "PathTooLarge",
            )
        parameters += page
        token = answer.get("NextToken")
        if not token:
            return FetchedPath(request.secret_id, tuple(sorted(parameters)), attempt.replica)
    raise AwsError(
        f"path {request.secret_id}: GetParametersByPath still had more after {MAX_PATH_PAGES} pages",
        "PathTooLarge",
    )


def _list(answer: Any, key: str) -> list[Any]:
    items = answer.get(key, [])
    if not isinstance(items, list):
        raise InvalidResponseError
    return items


def _value(parameter: Any) -> str:
    value = parameter.get("Value")
    if not isinstance(value, str):
        raise InvalidResponseError
    return value


def _version(parameter: Any) -> str:
    return str(parameter.get("Version", ""))
