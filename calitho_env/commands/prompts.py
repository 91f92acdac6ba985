"""Questions to a person at a terminal, shared by setup and rotate."""

from __future__ import annotations

import click


def ask_hidden_twice(question: str, again: str) -> str:
    """Hidden input, typed twice (a typo in a secret is found only in production); Enter alone: ''."""
    while True:
        value: str = click.prompt(question, hide_input=True, default="", show_default=False, err=True)
        if not value or click.prompt(again, hide_input=True, default="", show_default=False, err=True) == value:
            return value
        click.echo("the two entries differ; once more", err=True)
