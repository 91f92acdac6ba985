"""The priority rules, in one place (README "The priority").

settings + process environment -> env files, mappings, references -> one Resolution:
the child's environment with the provenance of every value, and what to tell the user.
Every consumer (run, print, check, the Python API) goes through `resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from calitho_env.core.bindings import Binding, FallbackSource, FileSource, ProcessSource, SecretSource, is_protected
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

PROCESS = ProcessSource()


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


class Resolution:
    """The child environment with the provenance of every value, and what to tell the user."""

    def __init__(
        self,
        mode: ModeChoice,
        variables: dict[str, Binding],
        injected: list[str],
        files_read: tuple[Path, ...],
        mappings: list[SecretMapping],
        references: list[SecretReference],
        notices: list[Notice],
    ) -> None:
        self.mode = mode
        self.variables = variables  # the whole child environment
        self.injected = injected  # what env files, mappings and references define (what `print` shows)
        self.files_read = files_read
        self.mappings = mappings
        self.references = references
        self.notices = notices
        self.fetches: list[FetchResult] = []

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
    files = configuration.files
    resolution = Resolution(
        mode=settings.mode,
        variables=configuration.base,
        injected=list(files.bindings),
        files_read=files.files_read,
        mappings=configuration.mappings,
        references=configuration.references,
        notices=[Notice("warning", "env_file_unparsable", text) for text in files.warnings],
    )
    requests = list(configuration.used_by())
    if settings.mode.mode is not Mode.PRODUCTION:
        if requests:
            resolution.notices.append(
                Notice(
                    "info",
                    "secrets_skipped",
                    f"{len(configuration.mappings) + len(configuration.references)} secret mapping(s)/reference(s) "
                    f"not fetched: mode is {settings.mode.mode.value}",
                )
            )
    elif requests:
        resolution.fetches = (fetch or _aws_fetcher(settings.batch))(requests, settings.timeout)
        _apply_secrets(resolution, settings, files.bindings, configuration.process)
    _check_required(resolution, settings.required)
    return resolution


def _apply_secrets(
    resolution: Resolution, settings: Settings, files: dict[str, Binding], process: dict[str, Binding]
) -> None:
    failed = resolution.failures()
    if failed and not settings.fallback:
        raise SecretUnavailableError(
            "; ".join(f"secret {r.request.describe()} could not be fetched ({f.code})" for r, f in failed),
            hint=failed[0][1].hint + " (fallback is off: --no-fallback / CALITHO_ENV_FALLBACK=0)",
        )
    fetched = {r.request: secret for r in resolution.fetches if (secret := r.secret) is not None}
    for result, failure in failed:
        resolution.notices.append(
            Notice(
                "warning",
                "secret_unavailable",
                f"secret {result.request.describe()} could not be fetched ({failure.code}: {failure.message}); "
                "its variables keep their env-file/environment values",
                {"secret_id": result.request.secret_id, "error_code": failure.code, "hint": failure.hint},
            )
        )
    secret_layer = _mapped_variables(resolution, fetched)
    merged = {**files, **secret_layer, **process} if settings.preserve_env else {**files, **process, **secret_layer}
    resolution.variables = merged
    resolution.injected = list(dict.fromkeys([*resolution.injected, *secret_layer]))
    for reference in resolution.references:
        _apply_reference(resolution, reference, fetched, files, process)


def _mapped_variables(resolution: Resolution, fetched: dict[SecretRequest, FetchedSecret]) -> dict[str, Binding]:
    layer: dict[str, Binding] = {}
    for mapping in resolution.mappings:
        secret = fetched.get(mapping.request)
        if secret is None:
            continue
        for name, value in secret.variables().items():
            if _refused(resolution, name, secret.secret_id):
                continue
            if name in layer:
                resolution.notices.append(
                    Notice(
                        "warning",
                        "secret_key_overlap",
                        f"{name} is set by {layer[name].source} and by secret {secret.secret_id} "
                        f"({mapping.variable}); the latter wins",
                        {"variable": name, "secret_id": secret.secret_id},
                    )
                )
            layer[name] = Binding(name, value, SecretSource(secret.secret_id, secret.version_id))
    return layer


def _apply_reference(
    resolution: Resolution,
    reference: SecretReference,
    fetched: dict[SecretRequest, FetchedSecret],
    files: dict[str, Binding],
    process: dict[str, Binding],
) -> None:
    name = reference.variable
    current = resolution.variables.get(name)
    if current is None or not is_reference(current.value):
        return  # a mapped secret or the preserved environment already set it
    if name not in resolution.injected:
        resolution.injected.append(name)
    secret = fetched.get(reference.request)
    if secret is not None and not _refused(resolution, name, reference.request.secret_id):
        value = secret.referenced_value(reference.json_key, name)
        resolution.variables[name] = Binding(name, value, SecretSource(secret.secret_id, secret.version_id))
        return
    # Fallback: the next value down the priority that is not itself a reference, else unset.
    lower = [b for b in (process.get(name), files.get(name)) if b is not None and not is_reference(b.value)]
    if not lower:
        del resolution.variables[name]
        resolution.injected.remove(name)
        return
    source = lower[0].source
    assert isinstance(source, ProcessSource | FileSource)  # process and env-file bindings only
    resolution.variables[name] = Binding(name, lower[0].value, FallbackSource(reference.request.secret_id, source))


def _refused(resolution: Resolution, name: str, secret_id: str) -> bool:
    if not is_protected(name):
        return False
    resolution.notices.append(
        Notice(
            "warning",
            "secret_key_refused",
            f"secret {secret_id} may not set {name} (PATH, HOME, LD_*, DYLD_* and BASH_FUNC_* are protected); ignored",
            {"variable": name, "secret_id": secret_id},
        )
    )
    return True


def _check_required(resolution: Resolution, required: tuple[str, ...]) -> None:
    missing = [name for name in required if not (name in resolution.variables and resolution.variables[name].value)]
    if missing:
        raise MissingVariablesError(missing)
