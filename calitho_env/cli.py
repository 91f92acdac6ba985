"""The click group, and the edge where errors become messages and exit codes."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from calitho_env.commands.options import output_options
from calitho_env.commands.state import CliState
from calitho_env.errors import EXIT_FAILURE, CalithoError

# Each command's module is imported only when that command runs: `run` pays for nothing else.
COMMANDS = {
    "run": "calitho_env.commands.run:run_command",
    "print": "calitho_env.commands.print:print_command",
    "check": "calitho_env.commands.check:check_command",
    "setup": "calitho_env.commands.setup:setup_command",
    "rotate": "calitho_env.commands.rotate:rotate_command",
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


def _print_traceback() -> None:
    import traceback  # only with --debug: it imports tokenize, linecache and textwrap

    traceback.print_exc()


def _event_name(error: CalithoError) -> str:
    """ConfigurationError -> configuration_error, for JSON log lines."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    state = CliState()
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="calitho-env", standalone_mode=False, obj=state
        )
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as usage:
        usage.show()
        sys.exit(usage.exit_code)
    except click.Abort:
        state.reporter.error("aborted", "aborted")
        sys.exit(EXIT_FAILURE)
    except CalithoError as error:
        if state.debug:
            _print_traceback()
        fields: dict[str, object] = {"exit_code": error.exit_code}
        if error.hint:
            fields["hint"] = error.hint
        state.reporter.error(_event_name(error), error.message, **fields)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the edge: no traceback unless --debug
        if state.debug:
            _print_traceback()
        state.reporter.error(
            "internal_error",
            f"unexpected {type(error).__name__}; rerun with --debug for the traceback",
            exit_code=EXIT_FAILURE,
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(0)
