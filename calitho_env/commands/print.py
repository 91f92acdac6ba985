"""`calitho-env print`: what `run` would inject, in a chosen format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from calitho_env.commands.options import output_options, resolution_options, settings_from
from calitho_env.commands.reporting import resolve_and_report
from calitho_env.commands.state import state_of
from calitho_env.core.formats import FORMATS, render, writable
from calitho_env.errors import CalithoError
from calitho_env.fetchers import aws_fetcher


@click.command("print", short_help="Print what run would inject, in a chosen format.")
@resolution_options
@output_options
@click.option(
    "--format",
    "format_name",
    type=click.Choice(FORMATS),
    default="dotenv",
    show_default=True,
    help="dotenv (python-dotenv and Node read it back), json, shell (for eval), docker (docker --env-file, "
    "kubectl --from-env-file), table (for people, masked).",
)
@click.option("--all", "everything", is_flag=True, help="The whole child environment, not only what is injected.")
@click.option("--mask", is_flag=True, help="Mask values (any format).")
@click.option("--wide", is_flag=True, help="table: full version ids and sources, wider than 80 columns.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (atomically, mode 0600, never through a link) instead of stdout.",
)
@click.argument("names", nargs=-1)
@click.pass_context
def print_command(
    ctx: click.Context,
    /,
    format_name: str,
    everything: bool,
    mask: bool,
    wide: bool,
    output: Path | None,
    names: tuple[str, ...],
    **options: Any,
) -> None:
    """Print the resolved variables (all of them, or only NAMES). -v says the mode and why, the files
    looked for and read, each secret fetched and its latency."""
    settings = settings_from(options)
    resolution = resolve_and_report(ctx, settings, aws_fetcher(settings))
    if names:
        missing = [name for name in names if name not in resolution.variables]
        if missing:
            raise CalithoError("not set: " + ", ".join(missing), hint="`calitho-env check` shows what was read")
        chosen = list(names)
    else:
        chosen = sorted(resolution.variables) if everything else sorted(resolution.injected)
    bindings, left_out = writable([resolution.variables[name] for name in chosen], format_name)
    if left_out:  # the names themselves are not shown: one may be a line of code
        state_of(ctx).reporter.warning(
            "names_not_portable",
            f"{left_out} inherited variable(s) left out: their names are not portable identifiers, "
            f"which --format {format_name} cannot carry safely",
            count=left_out,
            hint="--format json keeps them",
        )
    text = render(bindings, format_name, mask, wide)
    # surrogateescape: a value inherited as undecodable bytes is printed back as those bytes.
    data = text.encode("utf-8", "surrogateescape")
    if output is not None:
        from calitho_env.core.atomic_write import write_atomically

        write_atomically(output, data, 0o600)
        return
    if sys.stdout is None:
        raise CalithoError("stdout is closed", hint="use -o FILE")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
