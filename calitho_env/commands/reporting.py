"""The one way a command gets a Resolution: resolve, then tell the user what happened."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from calitho_env.commands.state import state_of
from calitho_env.core.endpoints import endpoint_overrides
from calitho_env.core.resolution import Resolution, require_set, resolve
from calitho_env.core.settings import Settings
from calitho_env.diagnostics import Notice, Reporter

if TYPE_CHECKING:
    from calitho_env.core.fetched import SecretFetcher


def resolve_and_report(ctx: click.Context, settings: Settings, fetcher: SecretFetcher) -> Resolution:
    """Resolve, then tell the user what happened (warnings always, details with -v)."""
    reporter = state_of(ctx).reporter
    reporter.info(
        "mode", f"mode: {settings.mode.describe()}", mode=settings.mode.mode.value, mode_origin=settings.mode.origin
    )
    resolution = resolve(settings, os.environ, fetcher, raise_unset=False)  # its notices first, then the error
    if resolution.fetches:
        for override in endpoint_overrides(os.environ):
            reporter.info("endpoint_override", f"{override.variable}={override.url}", variable=override.variable)
            if override.insecure:
                reporter.warning(
                    "endpoint_insecure",
                    f"{override.variable} sends requests over plain http to another machine: "
                    "secrets cross the network unencrypted",
                    variable=override.variable,
                    hint="use https, or a stand-in on this machine (127.0.0.1)",
                )
    if resolution.fetches:
        _say_primary_region(reporter, settings)
    for path in resolution.files_read:
        reporter.info("env_file_read", f"read {path}", path=str(path))
    for path in resolution.files_missing:
        reporter.info("env_file_missing", f"looked for {path}: not found", path=str(path))
    for fetch in resolution.fetches:
        if (secret := fetch.secret) is not None:
            reporter.info(
                "secret_fetched",
                f"fetched {secret.describe()} in {fetch.elapsed_ms:.0f} ms from {fetch.region or 'the default region'}",
                secret_id=fetch.request.secret_id,
                version_id=secret.version_id,
                region=fetch.region,
                elapsed_ms=round(fetch.elapsed_ms, 1),
            )
    # Text is read by people: a hint once. JSON lines are read one by one: each keeps its hint.
    notices = resolution.notices if reporter.log_format == "json" else without_repeated_hints(resolution.notices)
    for notice in notices:
        reporter.emit(notice)
    require_set(resolution, settings)
    counts = resolution.count_by_source()
    summary = ", ".join(f"{count} from {kind}" for kind, count in sorted(counts.items())) or "nothing"
    reporter.info("resolved", f"variables: {summary}", counts=counts)
    return resolution


def _say_primary_region(reporter: Reporter, settings: Settings) -> None:
    """-v: when --regions' first region is asked instead of AWS_REGION (an ARN's region still wins)."""
    variable = next((name for name in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(name)), None)
    configured = os.environ[variable] if variable else None
    if settings.regions and not settings.region and configured and configured != settings.regions[0]:
        reporter.info(
            "regions_override",
            f"--regions: secrets are asked in {settings.regions[0]} first, not in {variable}={configured}",
            region=settings.regions[0],
        )


def without_repeated_hints(notices: Iterable[Notice]) -> list[Notice]:
    """Each hint once per launch: ten secrets failing for one cause need one fix line, not ten."""
    seen: set[object] = set()
    kept = []
    for notice in notices:
        hint = notice.fields.get("hint")
        if hint and hint in seen:
            notice = notice._replace(fields={key: value for key, value in notice.fields.items() if key != "hint"})
        seen.add(hint)
        kept.append(notice)
    return kept
