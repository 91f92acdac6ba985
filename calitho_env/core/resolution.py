"""The priority rules, in one place (docs/configuration.md "The priority").

settings + process environment -> env files, mappings, references -> one Resolution:
the child's environment with the provenance of every value, and what to tell the user.
Every consumer (run, print, check, the Python API) goes through `resolve`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from calitho_env.core.bindings import (
    PROCESS,
    Binding,
    ComposedSource,
    FallbackSource,
    FileSource,
    ProcessSource,
    SecretSource,
    is_protected,
)
from calitho_env.core.envfiles import MAX_VALUE_CHARS, EnvFileLayer, load_env_files, read_declared_names
from calitho_env.core.secret_requests import (
    MAPPING_PREFIX,
    SECRET,
    SecretMapping,
    SecretReference,
    SecretRequest,
    find_mappings,
    find_references,
    is_mapping_name,
    is_reference,
)
from calitho_env.core.settings import Fallback, Mode, ModeChoice, Settings
from calitho_env.diagnostics import Notice
from calitho_env.errors import (
    DeclaredVariablesMissingError,
    MissingVariablesError,
    SecretUnavailableError,
    TemplateError,
)

if TYPE_CHECKING:  # development never imports the fetch types: there is nothing to fetch
    from calitho_env.core.fetched import FetchedPath, FetchedSecret, FetchFailure, FetchResult, SecretFetcher
    from calitho_env.core.templates import Placeholder, Template

# Next.js's own env-file loader (@next/env) reads no env file once this is set (docs/safety.md, Next.js):
# what a child sees is what calitho-env resolved, not a value it withheld that Next would read back.
NEXT_ENV_FILES_LOADED = "__NEXT_PROCESSED_ENV"


class Configuration(NamedTuple):
    """What the env files and the process environment ask for, before any secret is fetched."""

    files: EnvFileLayer
    process: dict[str, Binding]
    base: dict[str, Binding]  # the env files under the process environment
    mappings: list[SecretMapping]
    references: list[SecretReference]
    notices: tuple[Notice, ...]

    def used_by(self) -> dict[SecretRequest, list[str]]:
        """Each secret asked for (once, in order), with the variables that ask for it."""
        users: dict[SecretRequest, list[str]] = {}
        askers: list[SecretMapping | SecretReference] = [*self.mappings, *self.references]
        for asker in askers:
            users.setdefault(asker.request, []).append(asker.variable)
        return users


def read_configuration(settings: Settings, environ: Mapping[str, str], references: bool | None = None) -> Configuration:
    """References are looked for in production only (and never with --no-references), unless `references` says."""
    files = load_env_files(settings, environ)
    process = {name: Binding(name, value, PROCESS) for name, value in environ.items()}
    base = {**files.bindings, **process}
    if references is None:
        references = settings.references and settings.mode.mode is Mode.PRODUCTION
    notices = [Notice("warning", "env_file_unparsable", text) for text in files.warnings]
    found = find_references(base) if references else []
    return Configuration(files, process, base, find_mappings(base), found, tuple(notices))


class Declared(NamedTuple):
    """The app's declared variables (its .env.example) against what was resolved."""

    example: Path | None = None  # None: no example file, nothing declared
    names: tuple[str, ...] = ()
    unset: Mapping[str, str | None] = MappingProxyType({})  # declared, unset after resolution -> why, if known
    left_out: tuple[str, ...] = ()  # keys of mapped secrets the example does not declare, left out


class Resolution(NamedTuple):
    """The child environment with the provenance of every value, and what to tell the user. Read-only."""

    mode: ModeChoice
    variables: Mapping[str, Binding]  # the whole child environment
    injected: tuple[str, ...]  # what env files, mappings and references define (what `print` shows)
    files_read: tuple[Path, ...]
    files_missing: tuple[Path, ...]
    mappings: tuple[SecretMapping, ...]
    references: tuple[SecretReference, ...]
    fetches: tuple[FetchResult, ...]
    notices: tuple[Notice, ...]
    declared: Declared = Declared()

    def environment(self) -> dict[str, str]:
        """The child's environment: the variables, and the mark that keeps Next.js from reading the env
        files again (an env file or the process environment may set the mark itself, e.g. empty: off)."""
        child = {name: binding.value for name, binding in self.variables.items()}
        child.setdefault(NEXT_ENV_FILES_LOADED, "true")
        return child

    def failures(self) -> list[tuple[FetchResult, FetchFailure]]:
        return [(f, failure) for f in self.fetches if (failure := f.failure) is not None]

    def count_by_source(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in self.injected:
            kind = str(self.variables[name].source).split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def resolve(
    settings: Settings, environ: Mapping[str, str], fetch: SecretFetcher, raise_unset: bool = True
) -> Resolution:
    """`fetch` reads the secrets asked for (in production only): the caller's, so core/ knows no AWS.
    `raise_unset`: a required or declared variable left unset is an error (check reports it instead)."""
    configuration = read_configuration(settings, environ)
    files = configuration.files.bindings
    notices = list(configuration.notices)
    requests = list(configuration.used_by())
    fetches: tuple[FetchResult, ...] = ()
    variables: Mapping[str, Binding] = configuration.base
    mapped: Mapping[str, Binding] = {}
    injected = list(files)
    if requests and settings.mode.mode is not Mode.PRODUCTION:
        notices.append(
            Notice(
                "info",
                "secrets_skipped",
                f"{len(configuration.mappings)} secret mapping(s) not fetched: mode is {settings.mode.mode.value}",
            )
        )
    if requests and settings.mode.mode is Mode.PRODUCTION:
        fetches = tuple(fetch(requests, settings.timeout))
        layers = secret_layers(configuration, fetches, settings)
        notices += layers.notices
        mapped = layers.mapped
        unset = layers.unset
        variables = {name: b for name, b in {**layers.below, **_present(layers.over)}.items() if name not in unset}
        injected = [name for name in [*files, *layers.mapped, *layers.over] if name not in unset]
    else:  # nothing fetched: a template of a mapped secret cannot be filled, and must not reach the child
        composed, said = composed_layer(configuration, configuration.base, None, (), settings)
        notices += said
        unset = {name for name, binding in composed.items() if binding is None}
        variables = {name: b for name, b in {**variables, **_present(composed)}.items() if name not in unset}
        injected = [name for name in [*files, *composed] if name not in unset]
    variables, declared, declared_notices = declared_layer(settings, configuration, variables, mapped, fetches, notices)
    notices += declared_notices
    notices += framework_notices(variables, settings.mode)
    resolution = Resolution(
        mode=settings.mode,
        variables=MappingProxyType(dict(variables)),
        injected=tuple(name for name in dict.fromkeys(injected) if name in files or name not in declared.left_out),
        files_read=configuration.files.files_read,
        files_missing=configuration.files.files_missing,
        mappings=tuple(configuration.mappings),
        references=tuple(configuration.references),
        fetches=fetches,
        notices=tuple(notices),
        declared=declared,
    )
    if raise_unset:
        require_set(resolution, settings)
    return resolution


def require_set(resolution: Resolution, settings: Settings) -> None:
    """A required variable unset or empty, or a declared one unset, is an error naming each."""
    _check_required(resolution, settings.required)
    if resolution.declared.unset:
        raise DeclaredVariablesMissingError(str(resolution.declared.example), dict(resolution.declared.unset))


def declared_layer(
    settings: Settings,
    configuration: Configuration,
    variables: Mapping[str, Binding],
    mapped: Mapping[str, Binding],
    fetches: Sequence[FetchResult],
    notices: Sequence[Notice],
) -> tuple[dict[str, Binding], Declared, list[Notice]]:
    """What the app's .env.example declares: a mapped secret's undeclared keys are left out (an env-file or
    environment value under one stays), and each declared name still unset is listed with why."""
    names = read_declared_names(settings.example, settings.example_given) if settings.example else None
    if names is None:
        return dict(variables), Declared(), []
    left_out = sorted(n for n, b in variables.items() if n not in names and n in mapped and b == mapped[n])
    kept = {name: binding for name, binding in variables.items() if name not in left_out}
    result = {**kept, **{name: configuration.base[name] for name in left_out if name in configuration.base}}
    found = []
    if left_out:
        found.append(
            Notice(
                "warning",
                "undeclared_left_out",
                f"{len(left_out)} key(s) of secrets left out, which {settings.example} does not declare: "
                + ", ".join(left_out),
                {"variables": left_out, "hint": "declare a name in the example to pass it on"},
            )
        )
    unset = {name: _why_unset(name, settings, configuration, fetches, notices) for name in names if name not in result}
    return result, Declared(settings.example, names, MappingProxyType(unset), tuple(left_out)), found


def _why_unset(
    name: str,
    settings: Settings,
    configuration: Configuration,
    fetches: Sequence[FetchResult],
    notices: Sequence[Notice],
) -> str | None:
    """Why a declared name is unset, when a secret explains it: refused, failed, or not fetched in this mode."""
    for notice in notices:
        if notice.event == "secret_key_refused" and notice.fields.get("variable") == name:
            return f"secret {notice.fields['secret_id']} may not set it: a protected name"
    causes = failed_secrets_for(name, configuration.references, configuration.mappings, fetches)
    if causes:
        return "; ".join(f"{request.named()} could not be fetched: {failure.code}" for request, failure in causes)
    if configuration.mappings and settings.mode.mode is not Mode.PRODUCTION:
        return f"secrets are not fetched in {settings.mode.mode.value}"
    return None


# Names whose values a framework's build inlines into the browser bundle: Next.js, Vite, Create React
# App, Vue CLI, Nuxt, Expo, Gatsby, SvelteKit and Astro.
PUBLIC_PREFIXES = (
    "NEXT_PUBLIC_", "VITE_", "REACT_APP_", "VUE_APP_", "NUXT_PUBLIC_", "EXPO_PUBLIC_", "GATSBY_", "PUBLIC_",
)  # fmt: skip


def framework_notices(variables: Mapping[str, Binding], mode: ModeChoice) -> list[Notice]:
    """What the child's framework makes of a value that calitho-env passes on as it is."""
    notices = []
    public = [n for n, b in variables.items() if n.startswith(PUBLIC_PREFIXES) and isinstance(b.source, SecretSource)]
    if public:
        notices.append(
            Notice(
                "warning",
                "secret_in_public_name",
                f"{', '.join(public)}: a secret's value under a public prefix (NEXT_PUBLIC_, VITE_, ...): "
                "a build inlines it into the browser bundle, where anyone can read it",
                {"variables": public, "hint": "keep secrets in server-only names; public names are for public values"},
            )
        )
    node_env = variables.get("NODE_ENV")
    if node_env and isinstance(node_env.source, FileSource) and node_env.value.strip().lower() != mode.mode.value:
        notices.append(
            Notice(
                "warning",
                "node_env_from_file",
                f"NODE_ENV from {node_env.source} is passed on to the child but does not choose the mode, "
                f"which is {mode.describe()}: as in Next.js, only the process environment's NODE_ENV does",
                {"hint": "set NODE_ENV or CALITHO_ENV_MODE in the process environment (the image's ENV)"},
            )
        )
    return notices


class SecretLayers(NamedTuple):
    mapped: dict[str, Binding]  # the keys of the mapped secrets that were fetched
    below: dict[str, Binding]  # env files, process environment and mapped secrets, in priority order
    over: dict[str, Binding | None]  # references, and what stands in for failed secrets; None: unset
    notices: list[Notice]

    @property
    def unset(self) -> set[str]:
        return {name for name, binding in self.over.items() if binding is None}


def secret_layers(configuration: Configuration, fetches: Sequence[FetchResult], settings: Settings) -> SecretLayers:
    """What the fetched secrets give, and what stands in for those that failed, as layers to merge once."""
    failed = {r.request: failure for r in fetches if (failure := r.failure) is not None}
    asked = {r.request: asked_where(r) for r in fetches}
    if failed and settings.fallback is Fallback.NONE:
        raise SecretUnavailableError(
            "; ".join(
                f"{request.named()} could not be fetched ({f.code}){asked[request]}" for request, f in failed.items()
            ),
            hint=next(iter(failed.values())).hint_about(next(iter(failed)))
            + " (fallback is off: --fallback none / --no-fallback)",
        )
    fetched = {r.request: secret for r in fetches if (secret := r.secret) is not None}
    files, process = configuration.files.bindings, configuration.process
    mapped, notices = mapped_layer(configuration.mappings, fetched, settings.allowed_keys)
    below = {**files, **mapped, **process} if settings.preserve_env else {**files, **process, **mapped}
    referenced, refused = reference_layer(configuration, below, fetched, settings)
    notices += refused
    composed, said = composed_layer(configuration, below, fetched, failed, settings)
    notices += said
    failed_mappings = [m for m in configuration.mappings if m.request in failed]
    standing_in = stand_ins(configuration, below, mapped, failed_mappings, settings) if failed_mappings else {}
    over = {**standing_in, **composed, **referenced}
    notices += [
        _unavailable_notice(request, failure, configuration, over, asked[request])
        for request, failure in failed.items()
    ]
    notices += [_failover_notice(r) for r in fetches if r.failovers and r.failure is None]
    on_fallback = {
        name: binding for name, binding in over.items() if binding is None or isinstance(binding.source, FallbackSource)
    }
    if on_fallback:
        notices.append(_fallback_summary(on_fallback, settings.fallback))
    return SecretLayers(mapped, below, over, notices)


def mapped_layer(
    mappings: Sequence[SecretMapping],
    fetched: Mapping[SecretRequest, FetchedSecret | FetchedPath],
    allowed: frozenset[str],
) -> tuple[dict[str, Binding], list[Notice]]:
    """Every key of every mapped secret that was fetched; a later mapping wins a key two secrets set."""
    layer: dict[str, Binding] = {}
    notices: list[Notice] = []
    for mapping in mappings:
        secret = fetched.get(mapping.request)
        if secret is None:
            continue
        for name, value in secret.variables().items():
            if is_protected(name, allowed):
                notices.append(_refusal_notice(name, secret.secret_id))
                continue
            if name in layer:
                notices.append(_overlap_notice(name, layer[name], secret.secret_id, mapping.variable))
            layer[name] = Binding(name, value, secret.source_of(name))
    return layer, notices


def reference_layer(
    configuration: Configuration,
    below: Mapping[str, Binding],
    fetched: Mapping[SecretRequest, FetchedSecret | FetchedPath],
    settings: Settings,
) -> tuple[dict[str, Binding | None], list[Notice]]:
    """Each reference still standing in `below`: its secret's value, its fallback, or None (unset)."""
    layer: dict[str, Binding | None] = {}
    notices: list[Notice] = []
    for reference in configuration.references:
        name = reference.variable
        if name not in below or not is_reference(below[name].value):
            continue  # a mapped secret or the preserved environment set it
        secret = fetched.get(reference.request)
        if secret is not None and is_protected(name, settings.allowed_keys):
            notices.append(_refusal_notice(name, reference.request.secret_id))
        elif secret is not None:
            value = secret.referenced_value(reference.json_key, name)
            layer[name] = Binding(name, value, secret.source_of(name))
            continue
        layer[name] = _reference_fallback(reference, configuration, settings.fallback)
    return layer, notices


def composed_layer(
    configuration: Configuration,
    winners: Mapping[str, Binding],
    fetched: Mapping[SecretRequest, FetchedSecret | FetchedPath] | None,
    failed: Collection[SecretRequest],
    settings: Settings,
) -> tuple[dict[str, Binding | None], list[Notice]]:
    """`{{ NAME.key }}` in the env-file and environment values that win: filled from the secret
    AWS_SECRET_NAME maps; on its fallback (or unset) if it failed; unset where nothing is fetched
    (`fetched` None: development, test). Secret values are never looked into."""
    if not any("{{" in binding.value for binding in winners.values()):
        return {}, []
    from calitho_env.core.templates import MalformedTemplate  # only values that may hold a template pay for it
    from calitho_env.core.templates import parse as parse_template

    by_name = {m.variable.removeprefix(MAPPING_PREFIX): m for m in configuration.mappings if m.request.kind == SECRET}
    layer: dict[str, Binding | None] = {}
    notices: list[Notice] = []
    for name, binding in winners.items():
        if not isinstance(binding.source, ProcessSource | FileSource) or is_mapping_name(name):
            continue
        try:
            parsed = parse_template(binding.value, by_name)
        except MalformedTemplate as error:
            raise TemplateError(
                f"{name} ({binding.source}): malformed template of {MAPPING_PREFIX}{error.name}: {error.problem}",
                hint="the form is {{ NAME.key }} or {{ NAME.key | urlencode }} (docs/rotation.md)",
            ) from None
        if parsed.unmapped:
            notices.append(_unmapped_template_notice(name, binding, parsed.unmapped))
        if parsed.template is None:
            continue
        mappings = list(dict.fromkeys(by_name[p.name] for p in parsed.template.placeholders()))
        if fetched is None:
            layer[name] = None
            notices.append(_unfetched_template_notice(name, binding, mappings, settings))
            continue
        failed_ids = ", ".join(dict.fromkeys(m.request.secret_id for m in mappings if m.request in failed))
        secret_ids = ", ".join(dict.fromkeys(m.request.secret_id for m in mappings))
        if failed_ids or is_protected(name, settings.allowed_keys):
            if not failed_ids:
                notices.append(_refusal_notice(name, secret_ids))
            layer[name] = template_fallback(name, failed_ids or secret_ids, configuration, settings.fallback)
            continue
        secrets = {p.name: fetched[by_name[p.name].request] for p in parsed.template.placeholders()}
        layer[name] = _composed(name, binding, parsed.template, secrets)
    return layer, notices


def _composed(
    name: str, binding: Binding, template: Template, secrets: Mapping[str, FetchedSecret | FetchedPath]
) -> Binding:
    """The template filled from the keys of its secrets; a key a secret lacks is a configuration error."""
    keys = {mapping: secret.variables() for mapping, secret in secrets.items()}

    def key_value(placeholder: Placeholder) -> str:
        value = keys[placeholder.name].get(placeholder.key)
        if value is None:
            raise TemplateError(
                f"{name} ({binding.source}): secret {secrets[placeholder.name].secret_id} "
                f"({MAPPING_PREFIX}{placeholder.name}) has no key {placeholder.key!r}",
                hint=f"`calitho-env check --mode production` lists the keys of {MAPPING_PREFIX}{placeholder.name}",
            )
        return value

    from calitho_env.core.templates import TooLarge

    assert isinstance(binding.source, ProcessSource | FileSource)
    used = tuple((mapping, secret.source_of(mapping)) for mapping, secret in secrets.items())
    try:
        value = template.render(key_value)
    except TooLarge:
        raise TemplateError(
            f"{name} ({binding.source}): the value grows past {MAX_VALUE_CHARS // (1 << 20)} MiB as its templates "
            "are filled",
            hint="a template repeats a large key of the secret: compose only the keys the value needs",
        ) from None
    return Binding(name, value, ComposedSource(binding.source, used))


def template_fallback(name: str, secret_ids: str, configuration: Configuration, allowed: Fallback) -> Binding | None:
    """A template that cannot be filled: the next value down the priority that is no template, or None."""
    candidates = [configuration.process.get(name)]
    if allowed is Fallback.ALL:
        candidates.append(configuration.files.bindings.get(name))
    for candidate in candidates:
        if candidate is not None and "{{" not in candidate.value:
            assert isinstance(candidate.source, ProcessSource | FileSource)
            return Binding(name, candidate.value, FallbackSource(secret_ids, candidate.source))
    return None


def _unfetched_template_notice(
    name: str, binding: Binding, mappings: Sequence[SecretMapping], settings: Settings
) -> Notice:
    mode = settings.mode.mode.value
    return Notice(
        "warning",
        "template_unset",
        f"{name} ({binding.source}) is composed from {', '.join(m.variable for m in mappings)}, which {mode} "
        f"does not fetch: {name} is left unset",
        {"variable": name, "hint": f"define {name} in .env.{mode}"},
    )


def _unmapped_template_notice(name: str, binding: Binding, unmapped: Sequence[str]) -> Notice:
    return Notice(
        "warning",
        "template_unmapped",
        f"{name} ({binding.source}) holds {{{{ {unmapped[0]}.… }}}}, but no {MAPPING_PREFIX}{unmapped[0]} "
        "is mapped: left as it is",
        {"variable": name, "names": list(unmapped), "hint": f"map the secret with {MAPPING_PREFIX}{unmapped[0]}=ID"},
    )


def _reference_fallback(reference: SecretReference, configuration: Configuration, allowed: Fallback) -> Binding | None:
    """The next value down the priority that is not itself a reference, or None: the variable is unset."""
    name = reference.variable
    candidates = [configuration.process.get(name)]
    if allowed is Fallback.ALL:
        candidates.append(configuration.files.bindings.get(name))
    lower = [b for b in candidates if b is not None and not is_reference(b.value)]
    if not lower:
        return None
    source = lower[0].source
    assert isinstance(source, ProcessSource | FileSource)  # process and env-file bindings only
    return Binding(name, lower[0].value, FallbackSource(reference.request.secret_id, source))


def stand_ins(
    configuration: Configuration,
    below: Mapping[str, Binding],
    mapped: Mapping[str, Binding],
    failed: Sequence[SecretMapping],
    settings: Settings,
) -> dict[str, Binding | None]:
    """What stands in for the keys of mapped secrets that failed.

    Those keys are unknown (the secret could not be read), so every variable the env files define
    that no fetched secret set may be standing in for one. With --fallback environment an env-file
    value may not stand in: it is withheld (None).
    """
    failed_ids = ", ".join(dict.fromkeys(mapping.request.secret_id for mapping in failed))
    layer: dict[str, Binding | None] = {}
    for name in configuration.files.bindings:
        winner = below[name]
        if name in mapped or not _may_stand_in(name, winner):
            continue
        if isinstance(winner.source, ProcessSource):
            if not settings.preserve_env:  # with --preserve-env the process value wins anyway
                layer[name] = winner._replace(source=FallbackSource(failed_ids, winner.source))
        elif settings.fallback is Fallback.ENVIRONMENT:
            layer[name] = None
        else:
            assert isinstance(winner.source, FileSource)
            layer[name] = winner._replace(source=FallbackSource(failed_ids, winner.source))
    return layer


def _may_stand_in(name: str, binding: Binding) -> bool:
    """Configuration of the launcher and the SDK is not a secret's value."""
    return not (
        is_mapping_name(name)
        or is_reference(binding.value)
        or name.startswith(("AWS_", "CALITHO_ENV_"))
        or name == "NODE_ENV"
    )


DEVELOPMENT_FILES = (".env", ".env.local")  # the files development reads too, in every mode's cascade


def _stand_in(name: str, binding: Binding | None, allowed: Fallback) -> str:
    """`NAME from SOURCE` for what stands in for a secret's value, or why NAME is unset."""
    if binding is None:
        why = "" if allowed is Fallback.ALL else ": env files may not stand in (--fallback environment)"
        return f"{name} unset{why}"
    source = binding.source
    assert isinstance(source, FallbackSource)
    if isinstance(source.underlying, FileSource) and Path(source.underlying.path).name in DEVELOPMENT_FILES:
        return f"{name} from {source.underlying}, a file development reads too: this may be a development value"
    return f"{name} from {source.underlying}"


def asked_where(result: FetchResult) -> str:
    """What a failure message adds about where it asked: the region, or each region tried after a failover."""
    if result.failovers and result.region:
        tried = [f"{region} ({code})" for region, code in result.failovers] + [result.region]
        return f", asked in each region tried: {', '.join(tried)}"
    return f", asked in {result.region}" if result.region else ""


def _unavailable_notice(
    request: SecretRequest,
    failure: FetchFailure,
    configuration: Configuration,
    over: Mapping[str, Binding | None],
    asked: str = "",
) -> Notice:
    referencing = [r.variable for r in configuration.references if r.request == request and r.variable in over]
    if any(m.request == request for m in configuration.mappings):
        stand_ins = [name for name, binding in over.items() if binding is None or stands_in_for(binding, request)]
        instead = (
            "its keys are unknown, so the env-file and environment values listed below stand in"
            if stand_ins
            else "its keys are unknown, and no env-file value can stand in for them"
        )
    else:
        instead = "; ".join(_stand_in(name, over[name], Fallback.ALL) for name in referencing)
    return Notice(
        "warning",
        "secret_unavailable",
        f"{request.named()} could not be fetched ({failure.code}: {failure.message}){asked}; {instead}",
        {"secret_id": request.secret_id, "error_code": failure.code, "hint": failure.hint_about(request)},
    )


def stands_in_for(binding: Binding, request: SecretRequest) -> bool:
    """Whether `binding` is a fallback value standing in for the secret of `request`."""
    source = binding.source
    return isinstance(source, FallbackSource) and request.secret_id in source.secret_id.split(", ")


def _fallback_summary(on_fallback: Mapping[str, Binding | None], allowed: Fallback) -> Notice:
    return Notice(
        "warning",
        "fallback_in_use",
        f"{len(on_fallback)} variable(s) running on fallback values: "
        + "; ".join(_stand_in(name, binding, allowed) for name, binding in on_fallback.items()),
        {"variables": {name: str(b.source) if b else None for name, b in on_fallback.items()}},
    )


def _failover_notice(result: FetchResult) -> Notice:
    tried = ", ".join(f"{region} ({code})" for region, code in result.failovers)
    return Notice(
        "warning",
        "region_failover",
        f"{result.request.describe()}: {tried} failed; read from the replica in {result.region}",
        {
            "secret_id": result.request.secret_id,
            "failed_regions": [region for region, _ in result.failovers],
            "region": result.region,
        },
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
        f"secret {secret_id} may not set {name}: it is a protected name (docs/safety.md); ignored",
        {"variable": name, "secret_id": secret_id, "hint": f"--allow-key {name} accepts it on purpose"},
    )


def _present(layer: Mapping[str, Binding | None]) -> dict[str, Binding]:
    return {name: binding for name, binding in layer.items() if binding is not None}


def _check_required(resolution: Resolution, required: tuple[str, ...]) -> None:
    missing = [name for name in required if not (name in resolution.variables and resolution.variables[name].value)]
    if missing:
        causes = {name: cause for name in missing if (cause := _failed_secret_for(resolution, name))}
        failed = next((fetch for fetch in resolution.fetches if fetch.failure is not None), None)
        fix = failed.failure.hint_about(failed.request) if causes and failed and failed.failure else None
        raise MissingVariablesError(missing, causes, fix)


def _failed_secret_for(resolution: Resolution, name: str) -> str | None:
    """The failed secret that would have set `name`: its reference's, else the failed mapped ones'."""
    causes = failed_secrets_for(name, resolution.references, resolution.mappings, resolution.fetches)
    if not causes:
        return None
    request, failure = causes[0]
    if any(r.variable == name and r.request == request for r in resolution.references):
        return f"its {request.named()} could not be fetched: {failure.code}"
    named = ", ".join(f"{request.named()} ({failure.code})" for request, failure in causes)
    return f"not fetched, so perhaps a key of: {named}"


def failed_secrets_for(
    name: str,
    references: Sequence[SecretReference],
    mappings: Sequence[SecretMapping],
    fetches: Sequence[FetchResult],
) -> list[tuple[SecretRequest, FetchFailure]]:
    """The failed secrets that would have set `name`: its reference's if that failed, else every failed
    mapped secret's (their keys are unknown, so any may have held it), each once."""
    failed = {fetch.request: failure for fetch in fetches if (failure := fetch.failure) is not None}
    for reference in references:
        if reference.variable == name and reference.request in failed:
            return [(reference.request, failed[reference.request])]
    mapped = dict.fromkeys(m.request for m in mappings if m.request in failed)
    return [(request, failed[request]) for request in mapped]
