"""`check`: why are my secrets not loading? Every fact, and every problem with its fix.

The AWS work (identity, DescribeSecret, GetSecretValue) happens once, concurrently; the
values fetched are then replayed into the same `resolve` that `run` uses, so the report
says what `run` would really do. No value is kept in the report: keys and sources only.
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calitho_env.core.bindings import Binding, ComposedSource, FallbackSource, SecretSource, Source
from calitho_env.core.dotenv_syntax import parse_stream
from calitho_env.core.endpoints import endpoint_overrides
from calitho_env.core.envfiles import read_declared_names, read_regular_file
from calitho_env.core.fetched import FetchedPath, FetchedSecret, FetchFailure, FetchResult, hint_for, sts_hint
from calitho_env.core.resolution import (
    Configuration,
    Resolution,
    read_configuration,
    resolve,
    stands_in_for,
    template_fallback,
)
from calitho_env.core.secret_requests import SecretReference, SecretRequest, is_managed_secret, is_mapping_name
from calitho_env.core.settings import Fallback, Mode, Settings
from calitho_env.errors import ConfigurationError, DeclaredVariablesMissingError, MissingVariablesError, TemplateError

if TYPE_CHECKING:
    from calitho_env.aws.secretsmanager import SecretDescription, SecretLookup

ROTATION_WARNING_DAYS = 90
STS_TIMEOUT = 3.0  # seconds for GetCallerIdentity, within --timeout


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
    change_age_days: int | None = None  # days since the value last changed (by rotate, setup or rotation)
    error_code: str | None = None
    fallback: dict[str, str | None] = field(default_factory=dict)  # key -> the source run would use without it
    composes: list[str] = field(default_factory=list)  # variables whose {{ NAME.key }} templates it fills


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
    endpoints: dict[str, str] = field(default_factory=dict)  # AWS_ENDPOINT_URL* -> URL
    secrets: list[SecretReport] = field(default_factory=list)
    required: dict[str, str | None] = field(default_factory=dict)  # name -> source, None when missing
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts worth knowing that are not wrong
    example: str | None = None  # the app's .env.example, when one declares its variables
    declared_unset: dict[str, str | None] = field(default_factory=dict)  # declared name -> why it is unset
    left_out: list[str] = field(default_factory=list)  # keys of secrets left out: the example does not declare them
    secrets_not_fetched: int = 0  # secrets mapped but not fetched in this mode (development and test)

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


def build_check_report(settings: Settings, environ: Mapping[str, str]) -> CheckReport:
    report = CheckReport(settings.mode.mode.value, settings.mode.origin, settings.mode.describe())
    try:
        configuration = read_configuration(settings, environ, references=settings.references)
        if settings.example is not None:
            read_declared_names(settings.example, settings.example_given)  # its faults, before any AWS call
    except ConfigurationError as error:
        report.problems.append(Problem(error.message, error.hint))
        return report
    files = configuration.files
    report.env_files = [str(path) for path in files.files_read]
    report.warnings += files.warnings
    used_by = configuration.used_by()
    report.problems += _starts_without_values(settings, configuration.files.bindings, len(used_by))
    if used_by and settings.mode.mode is not Mode.PRODUCTION:
        report.notes.append(
            f"mode is {settings.mode.describe()}: its {len(used_by)} secret(s) are not fetched in this mode; "
            "`calitho-env check --mode production` checks what production loads"
        )
        report.secrets_not_fetched = len(used_by)
        used_by = {}  # development checks what development uses, and that calls no AWS
    lookups = _look_at_aws(report, list(used_by), settings) if used_by else []
    references: dict[SecretRequest, list[SecretReference]] = {}
    for reference in configuration.references:
        references.setdefault(reference.request, []).append(reference)
    for lookup in lookups:
        report.secrets.append(
            _secret_report(report, lookup, used_by[lookup.request], references.get(lookup.request, []))
        )
    _check_resolution(report, settings, environ, lookups, configuration)
    return report


def _starts_without_values(settings: Settings, from_files: Mapping[str, Binding], secrets: int) -> list[Problem]:
    """The app would start with no value to speak of: what run does without a word, check calls a problem."""
    has_values = any(not is_mapping_name(name) for name in from_files)
    mode = settings.mode.mode
    if mode is not Mode.PRODUCTION:
        if secrets and not has_values:
            return [
                Problem(
                    f"{mode.value} gets no values: its {secrets} mapped secret(s) are fetched only in production, "
                    "and no env file gives a variable a value",
                    f"put the development values in .env.{mode.value} (production never reads it); "
                    "`calitho-env check --mode production` checks the secrets",
                )
            ]
        return []
    if secrets:
        return []
    elsewhere = [] if settings.env_files else _files_with_mappings(settings.directory)
    if elsewhere:
        return [
            Problem(
                f"production fetches no secrets: the AWS_SECRET_* lines are in {', '.join(elsewhere)}, "
                "which production never reads",
                "move them to .env (every mode reads it) or .env.production",
            )
        ]
    if not has_values:
        return [
            Problem(
                "production gets no values: no AWS_SECRET_* mapping, secret reference or value in its env files",
                "run `calitho-env setup`, or add AWS_SECRET_<NAME>=<secret-id> to .env or .env.production",
            )
        ]
    return []


def _files_with_mappings(directory: Path) -> list[str]:
    """The development and test env files in `directory` that hold a mapping line."""
    found = []
    for name in (".env.development", ".env.development.local", ".env.test", ".env.test.local"):
        try:
            data = read_regular_file(directory / name)
        except OSError:
            continue
        text = (data or b"").decode("utf-8", "replace")
        if any(parsed.key and is_mapping_name(parsed.key) for parsed in parse_stream(io.StringIO(text))):
            found.append(name)
    return found


def _look_at_aws(report: CheckReport, requests: list[SecretRequest], settings: Settings) -> list[SecretLookup]:
    from calitho_env.aws.deadline import call_all  # check pays for botocore only when there are secrets
    from calitho_env.aws.secretsmanager import look_up_secrets
    from calitho_env.aws.session import AwsSession

    timeout = settings.timeout
    deadline = time.monotonic() + timeout  # identity, credential source and every lookup: one --timeout

    def remaining() -> float:
        return max(deadline - time.monotonic(), 0.001)

    session = AwsSession(timeout, region=settings.region, workers=len(requests) + 1, profile=settings.profile)
    report.region = session.region
    for override in endpoint_overrides(os.environ):
        report.endpoints[override.variable] = override.url
        if override.insecure:
            report.warnings.append(f"{override.variable} sends requests over plain http to another machine")
    if report.region is None:
        report.warnings.append("no AWS region is configured; only secrets given by full ARN can be read")
    # Who we are is information, not a condition: a private subnet may reach Secrets Manager but not STS.
    (identity,) = call_all([lambda: session.sts().get_caller_identity()], min(remaining(), STS_TIMEOUT))
    if isinstance(identity, FetchFailure):
        report.warnings.append(f"AWS identity unknown ({identity.code}): {sts_hint(identity.code)}")
    else:
        report.account, report.caller_arn = identity.get("Account"), identity.get("Arn")
    (source,) = call_all([session.credential_source], remaining())
    report.credential_source = None if isinstance(source, FetchFailure) else _credential_source_name(source)
    return look_up_secrets(session, requests, remaining())


def _credential_source_name(method: str | None) -> str | None:
    names = {
        "env": "environment",
        "shared-credentials-file": "profile",
        "config-file": "profile",
        "sso": "profile (SSO)",
        "assume-role": "profile (assume role)",
        "container-role": "container (ECS task role, EKS Pod Identity)",
        "assume-role-with-web-identity": "web identity (IRSA)",
        "iam-role": "instance",
    }
    return None if method is None else names.get(method, method)


def _secret_report(
    report: CheckReport, lookup: SecretLookup, used_by: list[str], references: list[SecretReference]
) -> SecretReport:
    secret = SecretReport(lookup.request.describe(), used_by)
    _apply_description(report, secret, lookup.description)
    _apply_value(report, secret, lookup.request, lookup.value, is_mapping=any(is_mapping_name(v) for v in used_by))
    if isinstance(lookup.value, FetchedSecret):
        for reference in references:
            try:
                lookup.value.referenced_value(reference.json_key, reference.variable)
            except ConfigurationError as error:
                report.problems.append(Problem(error.message, error.hint))
            if reference.json_key:
                secret.keys = sorted({*secret.keys, reference.json_key})
    return secret


def _apply_description(
    report: CheckReport, secret: SecretReport, description: SecretDescription | FetchFailure
) -> None:
    if isinstance(description, FetchFailure):
        secret.found = False if description.code in ("ResourceNotFoundException", "ParameterNotFound") else None
        return
    secret.found = not description.scheduled_for_deletion
    secret.last_changed = description.last_changed or description.created
    secret.last_rotated = description.last_rotated
    if secret.last_changed is not None:
        secret.change_age_days = (datetime.now(UTC) - secret.last_changed).days
        if secret.change_age_days > ROTATION_WARNING_DAYS:
            report.warnings.append(
                f"secret {secret.secret_id} last changed {secret.change_age_days} days ago "
                f"(over {ROTATION_WARNING_DAYS}): rotate it with `calitho-env rotate {secret.secret_id} KEY --generate`"
            )
    if description.scheduled_for_deletion:
        report.problems.append(
            Problem(f"secret {secret.secret_id} is scheduled for deletion", hint_for("InvalidRequestException"))
        )


def _apply_value(
    report: CheckReport,
    secret: SecretReport,
    request: SecretRequest,
    outcome: FetchedSecret | FetchedPath | FetchFailure,
    is_mapping: bool,
) -> None:
    if isinstance(outcome, FetchFailure):
        secret.error_code = outcome.code
        version = request.version_stage or request.version_id
        if outcome.code == "ResourceNotFoundException" and secret.found and version:
            report.problems.append(
                Problem(
                    f"secret {request.secret_id} has no version {version}",
                    "AWSPREVIOUS exists only once the value has changed (rotate it, or reference AWSCURRENT)"
                    if version == "AWSPREVIOUS"
                    else "check the version stage or id in the reference",
                )
            )
        elif not (outcome.code == "InvalidRequestException" and secret.found is False):
            report.problems.append(
                Problem(
                    f"secret {secret.secret_id} cannot be read: {outcome.code}: {outcome.message}",
                    _managed_hint(request) if outcome.code in _KMS_OR_DENIED else outcome.hint_about(request),
                )
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


_KMS_OR_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "KMSAccessDeniedException", "DecryptionFailure"})


def _managed_hint(request: SecretRequest) -> str:
    """A secret a service manages (rds!...) is often encrypted with the customer-managed KMS key chosen
    for the database: reading it needs kms:Decrypt on that key as well as GetSecretValue."""
    if not is_managed_secret(request.secret_id):
        return hint_for("AccessDeniedException")
    return (
        f"{request.secret_id} is managed by an AWS service and is encrypted with the KMS key chosen for it "
        "(DescribeSecret's KmsKeyId): grant this role kms:Decrypt on that key, and "
        "secretsmanager:GetSecretValue on the secret (`calitho-env iam-policy`)"
    )


def _check_resolution(
    report: CheckReport,
    settings: Settings,
    environ: Mapping[str, str],
    lookups: list[SecretLookup],
    configuration: Configuration,
) -> None:
    """Resolve as run would (from what was fetched above), then required variables and fallbacks."""
    replay = {lookup.request: FetchResult(lookup.request, lookup.value, 0.0) for lookup in lookups}
    # With --fallback none run stops at the first failure; the report goes on, as with the default.
    fallback = Fallback.ALL if settings.fallback is Fallback.NONE else settings.fallback
    as_run = settings._replace(fallback=fallback, required=())
    try:
        resolution = resolve(
            as_run, environ, fetch=lambda requests, timeout: [replay[r] for r in requests], raise_unset=False
        )
    except TemplateError as error:
        report.problems.append(Problem(error.message, error.hint))
        return
    except ConfigurationError:
        return  # a secret of the wrong shape: its secret report above has said so
    for name in settings.required:
        binding = resolution.variables.get(name)
        report.required[name] = _source_for_people(binding.source) if binding is not None and binding.value else None
    missing = [name for name, source in report.required.items() if source is None]
    if missing:
        shortfall = MissingVariablesError(missing)
        report.problems.append(Problem(shortfall.message, shortfall.hint))
    _check_declared(report, resolution)
    report.problems += [  # run warns and starts without them; check calls that a problem
        Problem(notice.message, str(notice.fields.get("hint", "")) or None)
        for notice in resolution.notices
        if notice.event == "template_unset"
    ]
    for secret, lookup in zip(report.secrets, lookups, strict=True):
        secret.composes = [
            name
            for name, binding in resolution.variables.items()
            if isinstance(binding.source, ComposedSource)
            and any(used.secret_id == lookup.request.secret_id for _, used in binding.source.secrets)
        ]
        if secret.readable:  # what run would use for each key if the secret were gone
            base = configuration.base
            secret.fallback = {key: str(base[key].source) if key in base else None for key in secret.keys}
            for name in secret.composes:
                stand_in = template_fallback(name, lookup.request.secret_id, configuration, fallback)
                source = stand_in.source if stand_in is not None else None
                secret.fallback[name] = str(source.underlying) if isinstance(source, FallbackSource) else None
        else:  # what run uses now instead
            secret.fallback = _standing_in(resolution, lookup.request, secret.used_by)


def _check_declared(report: CheckReport, resolution: Resolution) -> None:
    """What the app's .env.example declares and run would leave unset, and the secrets' keys it leaves out."""
    declared = resolution.declared
    if declared.example is None:
        return
    report.example = str(declared.example)
    report.declared_unset = dict(declared.unset)
    report.left_out = list(declared.left_out)
    if declared.unset:
        shortfall = DeclaredVariablesMissingError(report.example, report.declared_unset)
        report.problems.append(Problem(shortfall.message, shortfall.hint))
    if declared.left_out:
        report.warnings.append(
            f"{len(declared.left_out)} key(s) of secrets left out, which {report.example} does not declare: "
            + ", ".join(declared.left_out)
        )


def _source_for_people(source: Source) -> str:
    return source.short() if isinstance(source, SecretSource | ComposedSource) else str(source)


def _standing_in(resolution: Resolution, request: SecretRequest, used_by: list[str]) -> dict[str, str | None]:
    """The variables run gives fallback values (or leaves unset) because this secret failed."""
    standing_in: dict[str, str | None] = {}
    for name, binding in resolution.variables.items():
        if stands_in_for(binding, request):
            standing_in[name] = str(binding.source)
    for name in used_by:
        if not is_mapping_name(name) and name not in resolution.variables:
            standing_in[name] = None  # a reference with nothing to fall back to
    return standing_in
