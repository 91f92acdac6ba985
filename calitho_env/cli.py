"""The click group, and the edge where errors become messages and exit codes."""

from __future__ import annotations

import importlib
import re
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from calitho_env.commands.options import output_options
from calitho_env.commands.state import CliState
from calitho_env.core.execution import stop_on_signals
from calitho_env.diagnostics import Level, Notice
from calitho_env.errors import EXIT_FAILURE, CalithoError, Interrupted

# Each command's module is imported only when that command runs: `run` pays for nothing else.
COMMANDS = {
    "run": "calitho_env.commands.run:run_command",
    "print": "calitho_env.commands.print:print_command",
    "check": "calitho_env.commands.check:check_command",
    "setup": "calitho_env.commands.setup:setup_command",
    "rotate": "calitho_env.commands.rotate:rotate_command",
    "versions": "calitho_env.commands.versions:versions_command",
    "rollback": "calitho_env.commands.rollback:rollback_command",
    "iam-policy": "calitho_env.commands.iam_policy:iam_policy_command",
}


class LazyGroup(click.Group):
    """click's documented pattern for lazily loaded subcommands."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calitho-env")
@output_options
def cli() -> None:
    """Give a process its secrets: .env files in development, AWS Secrets Manager in production."""


def _traceback_text() -> str:
    import traceback  # only with --debug: it imports tokenize, linecache and textwrap

    return traceback.format_exc()


def _event_name(error: CalithoError) -> str:
    """ConfigurationError -> configuration_error, for JSON log lines."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    stop_on_signals()
    state = CliState()
    try:
        # Without standalone mode click returns the code of ctx.exit(N) (and of --help) instead of exiting.
        returned = cli.main(
            args=list(argv) if argv is not None else None, prog_name="calitho-env", standalone_mode=False, obj=state
        )
        sys.exit(returned if isinstance(returned, int) else 0)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.NoArgsIsHelpError as bare:  # `calitho-env` alone asks what there is: not an error
        click.echo(bare.ctx.get_help() if bare.ctx else "")
        sys.exit(bare.exit_code)
    except click.ClickException as usage:  # one style for every error: calitho-env: error: ...
        command = usage.ctx.command_path if isinstance(usage, click.UsageError) and usage.ctx else None
        hint = f"see `{command} --help`" if command else None
        _report(state, "usage_error", usage.format_message(), usage.exit_code, hint=hint)
    except click.Abort:
        _report(state, "aborted", "aborted", EXIT_FAILURE)
    except Interrupted as stop:
        if stop.signum == signal.SIGINT and sys.stderr is not None and sys.stderr.isatty():
            sys.stderr.write("\n")  # the terminal echoed ^C without one
        _report(state, "interrupted", f"stopped by {signal.Signals(stop.signum).name}; nothing was started",
                stop.exit_code, level="info")  # fmt: skip
    except CalithoError as error:
        _report(state, _event_name(error), error.message, error.exit_code, hint=error.hint)
    except Exception as error:  # noqa: BLE001 - the edge: no traceback unless --debug
        message = f"unexpected {type(error).__name__}; rerun with --debug for the traceback"
        _report(state, "internal_error", message, EXIT_FAILURE)


def _report(
    state: CliState, event: str, message: str, exit_code: int, hint: str | None = None, level: Level = "error"
) -> NoReturn:
    """Say it once, then exit. With --debug the traceback follows (in a field of its own in JSON)."""
    fields: dict[str, object] = {"exit_code": exit_code}
    if hint:
        fields["hint"] = hint
    trace = _traceback_text() if state.debug and level == "error" else None
    if trace and state.log_format == "json":
        fields["traceback"] = trace
    state.reporter.emit(Notice(level, event, message, fields))
    if trace and state.log_format != "json" and sys.stderr is not None:
        sys.stderr.write(trace)
    sys.exit(exit_code)
