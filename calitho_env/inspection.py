"""`check`: why are my secrets not loading? Every fact, and every problem with its fix.

The AWS work (identity, DescribeSecret, GetSecretValue) happens once, concurrently; the
values fetched are then replayed into the same `resolve` that `run` uses, so the report
says what `run` would really do. No value is kept in the report: keys and sources only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from calitho_env.errors import ConfigurationError, MissingVariablesError
from calitho_env.fetching import FetchFailure, FetchResult, hint_for
from calitho_env.references import SecretRequest, is_mapping_name
from calitho_env.resolution import read_configuration, resolve
from calitho_env.secret_values import FetchedSecret
from calitho_env.settings import Mode, Settings
from calitho_env.sources import Binding

ROTATION_WARNING_DAYS = 90


@dataclass
class Problem:
    message: str
    hint: str | None = None


@dataclass
class SecretReport:
    secret_id: str
    used_by: list[str]
    found: bool | None = None  # None: not known (the call itself failed)
    readable: bool = False
    keys: list[str] = field(default_factory=list)
    version_id: str | None = None
    last_changed: datetime | None = None
    last_rotated: datetime | None = None
    rotation_age_days: int | None = None
    error_code: str | None = None
    fallback: dict[str, str | None] = field(default_factory=dict)  # key -> the source run would use without it


@dataclass
class CheckReport:
    mode: str
    mode_origin: str
    mode_description: str
    env_files: list[str] = field(default_factory=list)
    region: str | None = None
    account: str | None = None
    caller_arn: str | None = None
    credential_source: str | None = None
    secrets: list[SecretReport] = field(default_factory=list)
    required: dict[str, str | None] = field(default_factory=dict)  # name -> source, None when missing
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        for secret in data["secrets"]:
            for key in ("last_changed", "last_rotated"):
                secret[key] = secret[key].isoformat() if secret[key] else None
        return data


def inspect(settings: Settings, environ: Mapping[str, str]) -> CheckReport:
    report = CheckReport(settings.mode.mode.value, settings.mode.origin, settings.mode.describe())
    try:
        configuration = read_configuration(settings, environ)
    except ConfigurationError as error:
        report.problems.append(Problem(error.message, error.hint))
        return report
    files = configuration.files
    report.env_files = [str(path) for path in files.files_read]
    report.warnings += files.warnings
    used_by = configuration.used_by()
    if used_by and settings.mode.mode is not Mode.PRODUCTION:
        report.problems.append(
            Problem(
                f"secrets not loading: mode is {settings.mode.describe()} while AWS_SECRET_* or secret references "
                "are set, so run does not fetch them",
                "check NODE_ENV: set NODE_ENV=production (or --mode production) where secrets should load",
            )
        )
    fetches = _inspect_aws(report, used_by, settings.timeout) if used_by else []
    for reference in configuration.references:
        _check_reference_key(report, reference.variable, reference.json_key, fetches, reference.request)
    _check_resolution(report, settings, environ, fetches, configuration.base)
    return report


def _inspect_aws(report: CheckReport, used_by: dict[SecretRequest, list[str]], timeout: float) -> list[FetchResult]:
    from calitho_env import aws  # check pays for botocore only when there are secrets to look at

    session = aws.AwsSession(timeout, workers=len(used_by) * 2 + 1)
    report.region = session.region
    requests = list(used_by)
    calls: list[Any] = [lambda: session.sts().get_caller_identity(), lambda: session.credential_source()]
    calls += [_describe(session, request) for request in requests]
    calls += [_get(aws, session, request) for request in requests]
    outcomes = aws.call_all(calls, timeout)
    identity, source = outcomes[0], outcomes[1]
    if isinstance(identity, FetchFailure):
        report.problems.append(Problem(f"AWS identity unknown: {identity.code}: {identity.message}", identity.hint))
    else:
        report.account, report.caller_arn = identity.get("Account"), identity.get("Arn")
    report.credential_source = None if isinstance(source, FetchFailure) else _credential_source_name(source)
    if report.region is None:
        report.warnings.append("no AWS region is configured; only secrets given by full ARN can be read")
    descriptions = outcomes[2 : 2 + len(requests)]
    values = outcomes[2 + len(requests) :]
    results = []
    for request, description, value in zip(requests, descriptions, values, strict=True):
        secret = SecretReport(request.describe(), used_by[request])
        _apply_description(report, secret, description)
        outcome = cast("FetchedSecret | FetchFailure", value)  # what fetch_one returns, or its failure
        _apply_value(report, secret, outcome, is_mapping=any(is_mapping_name(v) for v in used_by[request]))
        results.append(FetchResult(request, outcome, 0.0))
        report.secrets.append(secret)
    return results


def _describe(session: Any, request: SecretRequest) -> Callable[[], Any]:
    return lambda: session.secretsmanager(request.region).describe_secret(SecretId=request.secret_id)


def _get(aws: Any, session: Any, request: SecretRequest) -> Callable[[], Any]:
    return lambda: aws.fetch_one(session, request)


def _credential_source_name(method: str | None) -> str | None:
    names = {
        "env": "environment",
        "shared-credentials-file": "profile",
        "config-file": "profile",
        "sso": "profile (SSO)",
        "assume-role": "profile (assume role)",
        "container-role": "container",
        "iam-role": "instance",
    }
    return None if method is None else names.get(method, method)


def _apply_description(report: CheckReport, secret: SecretReport, description: Any) -> None:
    if isinstance(description, FetchFailure):
        secret.found = False if description.code == "ResourceNotFoundException" else None
        return
    secret.found = "DeletedDate" not in description
    secret.last_changed = description.get("LastChangedDate")
    secret.last_rotated = description.get("LastRotatedDate")
    reference_date = secret.last_rotated or secret.last_changed or description.get("CreatedDate")
    if reference_date is not None:
        secret.rotation_age_days = (datetime.now(UTC) - reference_date).days
        if secret.rotation_age_days > ROTATION_WARNING_DAYS:
            report.warnings.append(
                f"secret {secret.secret_id} was last rotated {secret.rotation_age_days} days ago "
                f"(over {ROTATION_WARNING_DAYS}): rotate it with `calitho-env rotate {secret.secret_id} KEY --generate`"
            )
    if "DeletedDate" in description:
        report.problems.append(
            Problem(f"secret {secret.secret_id} is scheduled for deletion", hint_for("InvalidRequestException"))
        )


def _apply_value(
    report: CheckReport, secret: SecretReport, outcome: FetchedSecret | FetchFailure, is_mapping: bool
) -> None:
    if isinstance(outcome, FetchFailure):
        secret.error_code = outcome.code
        if not (outcome.code == "InvalidRequestException" and secret.found is False):
            report.problems.append(
                Problem(f"secret {secret.secret_id} cannot be read: {outcome.code}: {outcome.message}", outcome.hint)
            )
        return
    secret.readable = True
    secret.version_id = outcome.version_id
    if not is_mapping:
        return
    try:
        secret.keys = sorted(outcome.variables())
    except ConfigurationError as error:
        report.problems.append(Problem(error.message, error.hint))


def _check_reference_key(
    report: CheckReport, variable: str, json_key: str | None, fetches: Sequence[FetchResult], request: SecretRequest
) -> None:
    for fetch in fetches:
        if fetch.request == request and (fetched := fetch.secret) is not None:
            try:
                fetched.referenced_value(json_key, variable)
            except ConfigurationError as error:
                report.problems.append(Problem(error.message, error.hint))
            for secret in report.secrets:
                if secret.secret_id == request.describe() and json_key:
                    secret.keys = sorted({*secret.keys, json_key})


def _check_resolution(
    report: CheckReport,
    settings: Settings,
    environ: Mapping[str, str],
    fetches: list[FetchResult],
    base: dict[str, Binding],
) -> None:
    """Resolve as run would (from what was fetched above), then required variables and fallbacks."""
    replay = {fetch.request: fetch for fetch in fetches}
    as_run = settings._replace(fallback=True, required=())
    try:
        resolution = resolve(as_run, environ, fetch=lambda requests, timeout: [replay[r] for r in requests])
    except ConfigurationError as error:
        if not any(problem.message == error.message for problem in report.problems):
            report.problems.append(Problem(error.message, error.hint))
        return
    for name in settings.required:
        binding = resolution.variables.get(name)
        report.required[name] = str(binding.source) if binding is not None and binding.value else None
    missing = [name for name, source in report.required.items() if source is None]
    if missing:
        shortfall = MissingVariablesError(missing)
        report.problems.append(Problem(shortfall.message, shortfall.hint))
    for secret in report.secrets:  # what run would use for each key if the secret were gone
        for key in secret.keys:
            secret.fallback[key] = str(base[key].source) if key in base else None
