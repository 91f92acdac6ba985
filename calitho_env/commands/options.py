"""Options shared by several commands: output (-q, -v, --log-format, --debug) and resolution."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from calitho_env.commands.state import state_of
from calitho_env.core.settings import Settings, build_settings

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange lets nan through (every comparison with it is false): a number of seconds is finite."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number) or math.isinf(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


def _set_output(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    state = state_of(ctx)
    if param.name == "quiet" and value:
        state.verbosity = -1
    elif param.name == "verbose" and value:
        state.verbosity = max(state.verbosity, 0) + value
    elif param.name == "log_format" and value:
        state.log_format = value
    elif param.name == "debug" and value:
        state.debug = True


RESOLUTION_REPORT = (
    "Also say the mode and why, the files looked for and read, endpoint overrides, each fetch with its "
    "region and latency, and how many variables each source gave (names only)."
)


def reports(verbose: str | None) -> Callable[[F], F]:
    """The output options, with what -v adds for this command (None: nothing, and -v is left out of its help)."""

    def decorate(function: F) -> F:
        return output_options(function, verbose)

    return decorate


def output_options(function: F, verbose: str | None = RESOLUTION_REPORT) -> F:
    """-q / -v / --log-format / --debug, accepted before or after the command name."""
    for decorator in reversed(
        [
            click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_output, help="Errors only."),
            click.option(
                "-v",
                "--verbose",
                count=True,
                expose_value=False,
                callback=_set_output,
                help=verbose,
                hidden=verbose is None,  # still accepted: `calitho-env -v CMD` works for every command
            ),
            click.option(
                "--log-format",
                type=click.Choice(["text", "json"]),
                expose_value=False,
                callback=_set_output,
                help="Diagnostics as text, or one JSON object per line.",
            ),
            click.option(
                "--debug",
                is_flag=True,
                expose_value=False,
                callback=_set_output,
                help="Show Python tracebacks for unexpected errors.",
            ),
        ]
    ):
        function = decorator(function)
    return function


def _apply(function: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


MODE_HELP = "The mode (default: CALITHO_ENV_MODE, else NODE_ENV, else development)."


def production_source_options(function: F) -> F:
    """source_options for a tool about the deployed app: the mode is production unless --mode says otherwise."""
    return source_options(function, "The mode (default: production, whatever NODE_ENV says).", "production")


def source_options(function: F, mode_help: str = MODE_HELP, mode_default: str | None = None) -> F:
    """Which env files are read, in which mode, and whether ARN values are references."""
    return _apply(
        function,
        [
            click.option("--mode", metavar="[development|production|test]", default=mode_default, help=mode_help),
            click.option(
                "--dir",
                "directory",
                type=click.Path(file_okay=False, path_type=Path),
                help="Where the .env cascade is read (default: the working directory).",
            ),
            click.option(
                "--env-file",
                "env_files",
                multiple=True,
                type=click.Path(path_type=Path, readable=False),  # checked by envfiles, exit 78
                help="Read this file instead of the cascade; repeatable, a later file overrides.",
            ),
            click.option(
                "--example",
                metavar="FILE|none",
                help="The app's declared variables (default: .env.example in --dir, when it exists; none: off; "
                "also CALITHO_ENV_EXAMPLE): each must be set, and in production a secret's undeclared keys are "
                "left out.",
            ),
            click.option(
                "--no-references",
                is_flag=True,
                help="Pass ARN values on as they are instead of resolving them; also CALITHO_ENV_REFERENCES=0.",
            ),
        ],
    )


def aws_options(timeout_help: str) -> Callable[[F], F]:
    """--region, --profile and --timeout, the same on every command that talks to AWS."""

    def decorate(function: F) -> F:
        return _apply(
            function,
            [
                click.option("--region", help="AWS region (default: AWS_REGION, else the profile's); an ARN's wins."),
                click.option("--profile", help="AWS profile of ~/.aws/config (default: AWS_PROFILE, else default)."),
                click.option(
                    "--timeout",
                    type=FiniteFloatRange(min=0, min_open=True, max=3600),
                    help=timeout_help + " (default 10; also CALITHO_ENV_TIMEOUT).",
                ),
            ],
        )

    return decorate


def resolution_options(function: F) -> F:
    """Everything that decides what `resolve` returns."""
    function = _apply(
        function,
        [
            click.option(
                "--fallback",
                type=click.Choice(["all", "environment", "none"]),
                help="What may stand in for a secret that cannot be fetched: env files and the environment "
                "(all, the default), the process environment only, or nothing (exit 69); also CALITHO_ENV_FALLBACK.",
            ),
            click.option(
                "--no-fallback",
                is_flag=True,
                help="The same as --fallback none; also CALITHO_ENV_FALLBACK=0.",
            ),
            click.option(
                "--regions",
                metavar="PRIMARY,REPLICA...",
                help="Replica regions: a fetch failing as an outage does (no connection, timeout, 5xx, throttled) "
                "is asked in the next before any fallback; also CALITHO_ENV_REGIONS.",
            ),
            click.option(
                "--preserve-env",
                is_flag=True,
                help="The process environment wins over secrets (secrets still win over files).",
            ),
            click.option(
                "--batch",
                is_flag=True,
                help="Fetch with BatchGetSecretValue, 20 secrets a call (opt-in; also CALITHO_ENV_BATCH=1).",
            ),
            click.option(
                "--allow-key",
                "allowed_keys",
                multiple=True,
                metavar="NAME",
                help="Let secrets set this protected name (e.g. NODE_OPTIONS) on purpose; repeatable; "
                "also CALITHO_ENV_ALLOW_KEYS=A,B.",
            ),
            click.option(
                "--require",
                "required",
                multiple=True,
                metavar="NAME",
                help="Fail (exit 78) unless NAME is set and non-empty; repeatable; also CALITHO_ENV_REQUIRE=A,B.",
            ),
        ],
    )
    function = aws_options("Seconds for all of AWS: credentials, retries, requests")(function)
    return source_options(function)


def settings_from(options: dict[str, Any]) -> Settings:
    """Settings from whichever of the shared options the command has."""
    return build_settings(
        os.environ,
        mode=options.get("mode"),
        directory=options.get("directory"),
        env_files=options.get("env_files", ()),
        timeout=options.get("timeout"),
        fallback=options.get("fallback"),
        no_fallback=options.get("no_fallback", False),
        preserve_env=options.get("preserve_env", False),
        required=options.get("required", ()),
        batch=options.get("batch", False),
        no_references=options.get("no_references", False),
        allowed_keys=options.get("allowed_keys", ()),
        region=options.get("region"),
        profile=options.get("profile"),
        regions=[options["regions"]] if options.get("regions") else (),
        example=options.get("example"),
    )
