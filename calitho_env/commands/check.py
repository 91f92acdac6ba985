"""`calitho-env check`: why is it not loading? Exit 0 only when all is well."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from calitho_env.admin.check_report import CheckReport, SecretReport, build_check_report
from calitho_env.commands.options import output_options, resolution_options, settings_from
from calitho_env.errors import CheckFailedError


@click.command("check")
@resolution_options
@output_options
@click.option("--format", "format_name", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check_command(format_name: str, **options: Any) -> None:
    """Report the mode, env files, AWS identity, each secret and the required variables."""
    report = build_check_report(settings_from(options), os.environ)
    if format_name == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_text(report), nl=False)
    if not report.ok:
        raise CheckFailedError(f"check found {len(report.problems)} problem(s)")


def render_text(report: CheckReport) -> str:
    lines = [f"mode:        {report.mode_description}", f"env files:   {', '.join(report.env_files) or '(none found)'}"]
    if report.secrets or report.region or report.account:
        lines.append(f"region:      {report.region or '(none)'}")
        who = f"{report.caller_arn} (account {report.account})" if report.caller_arn else "(unknown)"
        lines.append(f"identity:    {who}, credentials from {report.credential_source or '(none found)'}")
    lines += [f"endpoint:    {variable}={url}" for variable, url in report.endpoints.items()]
    if report.secrets:
        lines.append("secrets:")
        lines += [line for secret in report.secrets for line in _secret_lines(secret)]
    else:
        lines.append("secrets:     none mapped (no AWS_SECRET_* variables or secret references)")
    if report.required:
        lines.append("required:")
        lines += [
            f"  {'ok  ' if source else 'MISSING'} {name}" + (f"  ({source})" if source else "")
            for name, source in report.required.items()
        ]
    lines += [f"warning: {warning}" for warning in report.warnings]
    for problem in report.problems:
        lines.append(f"problem: {problem.message}")
        if problem.hint:
            lines.append(f"  fix: {problem.hint}")
    lines.append("all is well" if report.ok else f"{len(report.problems)} problem(s)")
    return "\n".join(lines) + "\n"


def _secret_lines(secret: SecretReport) -> list[str]:
    state = "ok  " if secret.readable and secret.found is not False else "FAIL"
    lines = [f"  {state} {secret.secret_id}  (used by {', '.join(secret.used_by)})"]
    if secret.readable:
        lines.append(f"       keys: {', '.join(secret.keys) or '(whole value)'}; version {secret.version_id}")
    else:
        found = {True: "found", False: "not found", None: "unknown"}[secret.found]
        nothing = "" if secret.fallback else "; run has no other value for its variables"
        lines.append(f"       {found}, not readable ({secret.error_code}){nothing}")
    if secret.last_rotated:
        lines.append(
            f"       last rotated {secret.last_rotated.date().isoformat()} ({secret.rotation_age_days} days ago)"
        )
    elif secret.last_changed:
        lines.append(
            f"       never rotated; last changed {secret.last_changed.date().isoformat()} "
            f"({secret.rotation_age_days} days ago)"
        )
    if secret.fallback:
        fallback = ", ".join(f"{key} from {source or 'nothing (unset)'}" for key, source in secret.fallback.items())
        lines.append(f"       without it, run would use: {fallback}")
    return lines
