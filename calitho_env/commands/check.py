"""`calitho-env check`: why is it not loading? Exit 0 only when all is well."""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import click

from calitho_env.admin.check_report import CheckReport, SecretReport, build_check_report
from calitho_env.commands.options import reports, resolution_options, settings_from
from calitho_env.errors import EXIT_FAILURE


@click.command("check", short_help="Why are my secrets not loading? Every fact, each problem with its fix.")
@resolution_options
@reports(None)
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people (80 columns), json for tools (docs/commands.md: check).",
)
@click.pass_context
def check_command(ctx: click.Context, /, format_name: str, **options: Any) -> None:
    """Report the mode, env files, AWS identity and endpoints, each secret (found, readable, keys,
    last change) and the required variables. Exit 0 only when nothing is wrong.

    In development and test it checks what those modes use, and calls no AWS; use --mode production
    to check what production loads."""
    report = build_check_report(settings_from(options), os.environ)
    if format_name == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_text(report), nl=False)
    if not report.ok:
        ctx.exit(EXIT_FAILURE)  # the report has said why


WIDTH = 80
LABEL = 13  # "env files:   "


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False, break_long_words=False
    ) or [first]


def _field(label: str, text: str) -> list[str]:
    return _wrapped(text, f"{label + ':':<{LABEL}}", " " * LABEL)


def render_text(report: CheckReport) -> str:
    lines = _field("mode", report.mode_description) + _field("env files", ", ".join(report.env_files) or "(none found)")
    if report.secrets or report.region or report.account:
        lines += _field("region", report.region or "(none)")
        who = f"{report.caller_arn} (account {report.account})" if report.caller_arn else "(unknown)"
        lines += _field("identity", who)
        lines += _field("credentials", f"from {report.credential_source or '(none found)'}")
    for variable, url in report.endpoints.items():
        lines += _field("endpoint", f"{variable}={url}")
    if report.secrets:
        lines.append("secrets:")
        lines += [line for secret in report.secrets for line in _secret_lines(secret)]
    elif report.secrets_not_fetched:
        lines += _field("secrets", f"{report.secrets_not_fetched} mapped, not fetched in this mode (see the note)")
    else:
        lines += _field("secrets", "none to fetch (no AWS_SECRET_* variables or secret references in this mode)")
    if report.required:
        lines.append("required:")
        width = max(len(name) for name in report.required)
        for name, source in report.required.items():
            state = "ok  " if source else "MISSING"
            lines += _wrapped(f"{state:<7} {name:<{width}}  {source or ''}".rstrip(), "  ", " " * (width + 12))
    if report.example is not None:
        unset = len(report.declared_unset)
        lines += _field("declared", f"{report.example}: " + (f"{unset} unset" if unset else "every name is set"))
    for note in report.notes:
        lines += _wrapped(note, "note: ", "      ")
    for warning in report.warnings:
        lines += _wrapped(warning, "warning: ", "         ")
    by_fix: dict[str | None, list[str]] = {}
    for problem in report.problems:  # one fix line per distinct cause
        by_fix.setdefault(problem.hint, []).append(problem.message)
    for hint, messages in by_fix.items():
        for message in messages:
            lines += _wrapped(message, "problem: ", "         ")
        if hint:
            lines += _wrapped(hint, "  fix: ", "       ")
    count = len(report.problems)
    lines.append("all is well" if report.ok else f"{count} problem{'s' if count > 1 else ''}")
    return "\n".join(lines) + "\n"


def _secret_lines(secret: SecretReport) -> list[str]:
    state = "ok  " if secret.readable and secret.found is not False else "FAIL"
    lines = _wrapped(f"{state} {secret.secret_id}  (used by {', '.join(secret.used_by)})", "  ", "       ")
    facts = []
    if secret.readable:
        version = f"; version {secret.version_id}" if secret.version_id else ""  # a parameter path has none
        facts.append(f"keys: {', '.join(secret.keys) or '(whole value)'}{version}")
    else:
        found = {True: "found", False: "not found", None: "unknown"}[secret.found]
        nothing = "" if secret.fallback else "; run has no other value for its variables"
        facts.append(f"{found}, not readable ({secret.error_code}){nothing}")
    if secret.last_changed:
        facts.append(f"last changed {secret.last_changed.date().isoformat()} ({secret.change_age_days} days ago)")
    if secret.last_rotated:
        facts.append(f"last rotated by Secrets Manager {secret.last_rotated.date().isoformat()}")
    if secret.composes:
        facts.append(f"composes: {', '.join(secret.composes)}")
    if secret.fallback:
        fallback = ", ".join(
            f"{key} from {source}" if source else f"{key} unset" for key, source in secret.fallback.items()
        )
        facts.append(f"without it, run would use: {fallback}")
    for fact in facts:
        lines += _wrapped(fact, "       ", "         ")
    return lines
