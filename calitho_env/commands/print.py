"""`calitho-env print`: what `run` would inject, in a chosen format."""

from __future__ import annotations

import sys
from typing import Any

import click

from calitho_env.commands.options import output_options, resolution_options, settings_from
from calitho_env.commands.reporting import resolve_and_report
from calitho_env.core.formats import FORMATS, render
from calitho_env.errors import CalithoError


@click.command("print")
@resolution_options
@output_options
@click.option("--format", "format_name", type=click.Choice(FORMATS), default="dotenv", show_default=True)
@click.option("--all", "everything", is_flag=True, help="The whole child environment, not only what is injected.")
@click.option("--mask", is_flag=True, help="Mask values (any format).")
@click.argument("names", nargs=-1)
@click.pass_context
def print_command(
    ctx: click.Context, /, format_name: str, everything: bool, mask: bool, names: tuple[str, ...], **options: Any
) -> None:
    """Print the resolved variables (all of them, or only NAMES)."""
    resolution = resolve_and_report(ctx, settings_from(options))
    if names:
        missing = [name for name in names if name not in resolution.variables]
        if missing:
            raise CalithoError("not set: " + ", ".join(missing), hint="`calitho-env check` shows what was read")
        chosen = list(names)
    else:
        chosen = sorted(resolution.variables) if everything else sorted(resolution.injected)
    text = render([resolution.variables[name] for name in chosen], format_name, mask)
    # surrogateescape: a value inherited as undecodable bytes is printed back as those bytes.
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()
