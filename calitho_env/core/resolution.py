"""The priority rules, in one place (README "The priority").

settings + process environment -> env files, mappings, references -> one Resolution:
the child's environment with the provenance of every value, and what to tell the user.
Every consumer (run, print, check, the Python API) goes through `resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from calitho_env.core.bindings import (
    PROCESS,
    Binding,
    FallbackSource,
    FileSource,
    ProcessSource,
    SecretSource,
    is_protected,
)
from calitho_env.core.envfiles import EnvFileLayer, load_env_files
from calitho_env.core.secret_requests import (
    SecretMapping,
    SecretReference,
    SecretRequest,
    find_mappings,
    find_references,
    is_reference,
)
from calitho_env.core.settings import Mode, ModeChoice, Settings
from calitho_env.diagnostics import Notice
from calitho_env.errors import MissingVariablesError, SecretUnavailableError

if TYPE_CHECKING:  # development never imports the fetch types: there is nothing to fetch
    from calitho_env.core.fetched import FetchedSecret, FetchFailure, FetchResult, SecretFetcher


class Configuration(NamedTuple):
    """What the env files and the process environment ask for, before any secret is fetched."""

    files: EnvFileLayer
    process: dict[str, Binding]
    base: dict[str, Binding]  # the env files under the process environment
    mappings: list[SecretMapping]
    references: list[SecretReference]

    def used_by(self) -> dict[SecretRequest, list[str]]:
        """Each secret asked for (once, in order), with the variables that ask for it."""
        users: dict[SecretRequest, list[str]] = {}
        askers: list[SecretMapping | SecretReference] = [*self.mappings, *self.references]
        for asker in askers:
            users.setdefault(asker.request, []).append(asker.variable)
        return users


def read_configuration(settings: Settings, environ: Mapping[str, str]) -> Configuration:
    files = load_env_files(settings, environ)
    process = {name: Binding(name, value, PROCESS) for name, value in environ.items()}
    base = {**files.bindings, **process}
    return Configuration(files, process, base, find_mappings(base), find_references(base))


class Resolution(NamedTuple):
    """The child environment with the provenance of every value, and what to tell the user. Read-only."""

    mode: ModeChoice
    variables: Mapping[str, Binding]  # the whole child environment
    injected: tuple[str, ...]  # what env files, mappings and references define (what `print` shows)
    files_read: tuple[Path, ...]
    mappings: tuple[SecretMapping, ...]
    references: tuple[SecretReference, ...]
    fetches: tuple[FetchResult, ...]
    notices: tuple[Notice, ...]

    def environment(self) -> dict[str, str]:
        return {name: binding.value for name, binding in self.variables.items()}

    def failures(self) -> list[tuple[FetchResult, FetchFailure]]:
        return [(f, failure) for f in self.fetches if (failure := f.failure) is not None]

    def count_by_source(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in self.injected:
            kind = str(self.variables[name].source).split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def _aws_fetcher(batch: bool) -> SecretFetcher:
    def fetch(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        from calitho_env.aws.secretsmanager import fetch_secrets  # only production pays for importing botocore

        return fetch_secrets(requests, timeout, batch)

    return fetch


def resolve(settings: Settings, environ: Mapping[str, str], fetch: SecretFetcher | None = None) -> Resolution:
    configuration = read_configuration(settings, environ)
    files, process = configuration.files.bindings, configuration.process
    notices = [Notice("warning", "env_file_unparsable", text) for text in configuration.files.warnings]
    requests = list(configuration.used_by())
    fetches: tuple[FetchResult, ...] = ()
    variables: Mapping[str, Binding] = configuration.base
    injected = list(files)
    if requests and settings.mode.mode is not Mode.PRODUCTION:
        count = len(configuration.mappings) + len(configuration.references)
        notices.append(
            Notice(
                "info",
                "secrets_skipped",
                f"{count} secret mapping(s)/reference(s) not fetched: mode is {settings.mode.mode.value}",
            )
        )
    elif requests:
        fetches = tuple((fetch or _aws_fetcher(settings.batch))(requests, settings.timeout))
        _refuse_unavailable(fetches, settings)
        fetched = {r.request: secret for r in fetches if (secret := r.secret) is not None}
        notices += [_unavailable_notice(r, failure) for r in fetches if (failure := r.failure) is not None]
        mapped, mapped_notices = mapped_layer(configuration.mappings, fetched)
        below = {**files, **mapped, **process} if settings.preserve_env else {**files, **process, **mapped}
        referenced, referenced_notices = reference_layer(configuration, below, fetched)
        notices += [*mapped_notices, *referenced_notices]
        unset = {name for name, binding in referenced.items() if binding is None}
        variables = {name: b for name, b in {**below, **_present(referenced)}.items() if name not in unset}
        injected += [*mapped, *_present(referenced)]
    resolution = Resolution(
        mode=settings.mode,
        variables=MappingProxyType(dict(variables)),
        injected=tuple(dict.fromkeys(injected)),
        files_read=configuration.files.files_read,
        mappings=tuple(configuration.mappings),
        references=tuple(configuration.references),
        fetches=fetches,
        notices=tuple(notices),
    )
    _check_required(resolution, settings.required)
    return resolution


def _present(layer: Mapping[str, Binding | None]) -> dict[str, Binding]:
    return {name: binding for name, binding in layer.items() if binding is not None}


def _refuse_unavailable(fetches: Sequence[FetchResult], settings: Settings) -> None:
    failed = [(r, failure) for r in fetches if (failure := r.failure) is not None]
    if failed and not settings.fallback:
        raise SecretUnavailableError(
            "; ".join(f"secret {r.request.describe()} could not be fetched ({f.code})" for r, f in failed),
            hint=failed[0][1].hint + " (fallback is off: --no-fallback / CALITHO_ENV_FALLBACK=0)",
        )


def mapped_layer(
    mappings: Sequence[SecretMapping], fetched: Mapping[SecretRequest, FetchedSecret]
) -> tuple[dict[str, Binding], list[Notice]]:
    """Every key of every mapped secret that was fetched; a later mapping wins a key two secrets set."""
    layer: dict[str, Binding] = {}
    notices: list[Notice] = []
    for mapping in mappings:
        secret = fetched.get(mapping.request)
        if secret is None:
            continue
        for name, value in secret.variables().items():
            if is_protected(name):
                notices.append(_refusal_notice(name, secret.secret_id))
                continue
            if name in layer:
                notices.append(_overlap_notice(name, layer[name], secret.secret_id, mapping.variable))
            layer[name] = Binding(name, value, SecretSource(secret.secret_id, secret.version_id))
    return layer, notices


def reference_layer(
    configuration: Configuration,
    below: Mapping[str, Binding],
    fetched: Mapping[SecretRequest, FetchedSecret],
) -> tuple[dict[str, Binding | None], list[Notice]]:
    """Each reference still standing in `below`: its secret's value, its fallback, or None (unset)."""
    layer: dict[str, Binding | None] = {}
    notices: list[Notice] = []
    for reference in configuration.references:
        name = reference.variable
        if name not in below or not is_reference(below[name].value):
            continue  # a mapped secret or the preserved environment set it
        secret = fetched.get(reference.request)
        if secret is not None and is_protected(name):
            notices.append(_refusal_notice(name, reference.request.secret_id))
        elif secret is not None:
            value = secret.referenced_value(reference.json_key, name)
            layer[name] = Binding(name, value, SecretSource(secret.secret_id, secret.version_id))
            continue
        layer[name] = _reference_fallback(reference, configuration.files.bindings, configuration.process)
    return layer, notices


def _reference_fallback(
    reference: SecretReference, files: Mapping[str, Binding], process: Mapping[str, Binding]
) -> Binding | None:
    """The next value down the priority that is not itself a reference, or None: the variable is unset."""
    name = reference.variable
    lower = [b for b in (process.get(name), files.get(name)) if b is not None and not is_reference(b.value)]
    if not lower:
        return None
    source = lower[0].source
    assert isinstance(source, ProcessSource | FileSource)  # process and env-file bindings only
    return Binding(name, lower[0].value, FallbackSource(reference.request.secret_id, source))


def _unavailable_notice(result: FetchResult, failure: FetchFailure) -> Notice:
    return Notice(
        "warning",
        "secret_unavailable",
        f"secret {result.request.describe()} could not be fetched ({failure.code}: {failure.message}); "
        "its variables keep their env-file/environment values",
        {"secret_id": result.request.secret_id, "error_code": failure.code, "hint": failure.hint},
    )


def _overlap_notice(name: str, earlier: Binding, secret_id: str, mapping_variable: str) -> Notice:
    return Notice(
        "warning",
        "secret_key_overlap",
        f"{name} is set by {earlier.source} and by secret {secret_id} ({mapping_variable}); the latter wins",
        {"variable": name, "secret_id": secret_id},
    )


def _refusal_notice(name: str, secret_id: str) -> Notice:
    return Notice(
        "warning",
        "secret_key_refused",
        f"secret {secret_id} may not set {name} (PATH, HOME, LD_*, DYLD_* and BASH_FUNC_* are protected); ignored",
        {"variable": name, "secret_id": secret_id},
    )


def _check_required(resolution: Resolution, required: tuple[str, ...]) -> None:
    missing = [name for name in required if not (name in resolution.variables and resolution.variables[name].value)]
    if missing:
        raise MissingVariablesError(missing)
