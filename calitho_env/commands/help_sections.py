"""`--help` with the options under headings and examples at the end, for a command with many options.

Hand-made on click's own formatter (about twenty lines) rather than cloup or click-option-group:
`run` imports this on every launch, and a dependency would cost each start its import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


class SectionedCommand(click.Command):
    """Options listed by section (those in none come last, under "Other options"), then examples."""

    def __init__(
        self,
        *args: Any,
        sections: Sequence[tuple[str, Sequence[str]]] = (),
        usage: Sequence[str] = (),
        examples: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sections = sections
        self.usage = usage
        self.examples = examples

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return list(self.usage) or super().collect_usage_pieces(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        help_option = self.get_help_option(ctx)
        records = {
            "help" if param is help_option else param.name: param.get_help_record(ctx)
            for param in self.get_params(ctx)
            if isinstance(param, click.Option)
        }
        placed = {name for _, names in self.sections for name in names}
        sections = [*self.sections, ("Other options", [name for name in records if name not in placed])]
        for title, names in sections:
            rows = [record for name in names if (record := records.get(name))]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.examples:
            with formatter.section("Examples"):
                for example in self.examples:  # as written: a command line must not be re-wrapped
                    formatter.write(f"{'':>{formatter.current_indent}}{example}\n")
