"""`calitho-env run -- CMD [ARGS...]`: resolve, then become CMD."""

from __future__ import annotations

import signal
from typing import Any

import click

from calitho_env.commands.help_sections import SectionedCommand
from calitho_env.commands.options import FiniteFloatRange, output_options, resolution_options, settings_from
from calitho_env.commands.reporting import resolve_and_report
from calitho_env.commands.state import state_of
from calitho_env.core.execution import exec_command
from calitho_env.core.settings import Mode
from calitho_env.fetchers import aws_fetcher

PRODUCTION_INTERVAL = 300.0  # seconds between DescribeSecret polls: docs/watch.md says what they cost


DEVELOPMENT_INTERVAL = 1.0  # seconds between looks at the env files in development


@click.command(
    "run",
    cls=SectionedCommand,
    short_help="Resolve the variables, then become COMMAND (exec; --watch: supervise it).",
    context_settings={"allow_interspersed_args": False},  # after COMMAND, every word is its argument
    usage=["[OPTIONS]", "--", "COMMAND", "[ARGS]..."],
    sections=[
        ("Where values come from", ["mode", "directory", "env_files", "no_references", "preserve_env"]),
        ("Which names", ["required", "example", "allowed_keys"]),
        ("AWS", ["region", "profile", "timeout", "regions", "batch"]),
        ("When a secret cannot be fetched", ["fallback", "no_fallback"]),
        ("Watch and restart", ["watch", "watch_interval", "restart_spread", "restart_signal", "restart_grace"]),
        ("Output", ["quiet", "verbose", "log_format", "debug", "help"]),
    ],
    examples=[
        "calitho-env run -- npm start",
        "calitho-env run --mode production --require DATABASE_URL -- node server.js",
        "calitho-env run --watch -- sh -c 'exec node server.js --port \"$PORT\"'",
    ],
)
@resolution_options
@output_options
@click.option(
    "--watch",
    is_flag=True,
    help="Stay resident and restart COMMAND when its values change: in production when a watched secret "
    "gets a new AWSCURRENT version (DescribeSecret every --watch-interval), in development when a file of "
    "the env cascade changes.",
)
@click.option(
    "--watch-interval",
    type=FiniteFloatRange(min=0.1, max=86400),
    help="Seconds between checks, with 10 % jitter (default: 300 in production, 1 in development).",
)
@click.option(
    "--restart-spread",
    type=FiniteFloatRange(min=0, max=86400),
    help="Each instance restarts after a random part of this many seconds, so a fleet never restarts "
    "together (default: the interval; 0 in development).",
)
@click.option(
    "--restart-signal",
    type=click.Choice(["TERM", "INT", "HUP", "QUIT", "USR1", "USR2"]),
    default="TERM",
    show_default=True,
    help="The signal that asks COMMAND to stop before a restart.",
)
@click.option(
    "--restart-grace",
    type=FiniteFloatRange(min=0, max=3600),
    default=10.0,
    show_default=True,
    help="Seconds COMMAND has to stop before SIGKILL.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run_command(
    ctx: click.Context,
    /,
    command: tuple[str, ...],
    watch: bool,
    watch_interval: float | None,
    restart_spread: float | None,
    restart_signal: str,
    restart_grace: float,
    **options: Any,
) -> None:
    """Resolve the variables and replace this process with COMMAND (no shell). With --watch, run
    COMMAND as a supervised child instead and restart it when its values change."""
    settings = settings_from(options)
    production = settings.mode.mode is Mode.PRODUCTION
    files_before = None
    if watch and not production:  # before the first read: an edit made while resolving is not missed
        from calitho_env.core.envfiles import cascade
        from calitho_env.core.watching import file_state

        paths = list(reversed(settings.env_files)) or cascade(settings.directory, settings.mode.mode)
        files_before = file_state(paths)
    fetch = aws_fetcher(settings)
    resolution = resolve_and_report(ctx, settings, fetch)
    if not watch:
        exec_command(command, resolution.environment())
    from calitho_env.core.watching import announce, supervise, watched

    reporter = state_of(ctx).reporter
    interval = watch_interval or (PRODUCTION_INTERVAL if production else DEVELOPMENT_INTERVAL)
    probe = None
    secrets = watched(resolution)
    if production:
        from calitho_env.aws.secretsmanager import current_versions

        probe = current_versions(secrets, settings.timeout, settings.region, settings.profile)
    announce(reporter, resolution, interval, secrets, files_before)
    supervise(
        command,
        resolution,
        lambda: resolve_and_report(ctx, settings, fetch),  # a restart says what a launch says
        reporter,
        probe,
        interval,
        restart_spread if restart_spread is not None else (interval if production else 0.0),
        getattr(signal, f"SIG{restart_signal}"),
        restart_grace,
        files_before,
    )
