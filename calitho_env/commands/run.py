"""`calitho-env run -- CMD [ARGS...]`: resolve, then become CMD."""

from __future__ import annotations

from typing import Any

import click

from calitho_env.commands.options import output_options, resolution_options, settings_from
from calitho_env.commands.reporting import resolve_and_report
from calitho_env.core.execution import exec_command


@click.command(
    "run",
    short_help="Resolve the variables, then become COMMAND (exec; --watch: supervise it).",
    context_settings={"allow_interspersed_args": False},  # after COMMAND, every word is its argument
)
@resolution_options
@output_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run_command(ctx: click.Context, /, command: tuple[str, ...], **options: Any) -> None:
    """Resolve the variables and replace this process with COMMAND (no shell)."""
    resolution = resolve_and_report(ctx, settings_from(options))
    exec_command(command, resolution.environment())
