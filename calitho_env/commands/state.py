"""Output settings shared by the group and every command (they may be given at either level)."""

from __future__ import annotations

import os

import click

from calitho_env.diagnostics import LogFormat, Reporter


class CliState:
    def __init__(self) -> None:
        self.verbosity = 0
        # A container's ENTRYPOINT ends in `--`, so its log format can be chosen by environment too.
        self.log_format: LogFormat = "json" if os.environ.get("CALITHO_ENV_LOG_FORMAT") == "json" else "text"
        self.debug = False

    @property
    def reporter(self) -> Reporter:
        return Reporter(self.verbosity, self.log_format)


def state_of(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None, "the CLI is started through calitho_env.cli.main"
    return state
