"""`calitho-env rotate SECRET_ID KEY`: a new version with one key changed; the value is never printed."""

from __future__ import annotations

import os
import sys

import click

from calitho_env.admin.provisioning import generate_value, rotate_key
from calitho_env.commands.options import aws_options, reports
from calitho_env.commands.prompts import ask_hidden_twice
from calitho_env.commands.state import state_of
from calitho_env.core.secret_requests import is_managed_secret, parse_secret_id
from calitho_env.core.settings import build_settings
from calitho_env.errors import ConfigurationError

MAX_VALUE = 65536  # characters: a whole secret may hold at most 64 KiB


@click.command("rotate", short_help="Put a new version of a secret with one key changed.")
@click.argument("secret_id")
@click.argument("key")
@click.option("--generate", is_flag=True, help="A new random value (letters, digits, - and _).")
@click.option(
    "--length", type=click.IntRange(16, 4096), default=48, show_default=True, help="Length of the generated value."
)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the new value from standard input (on a terminal: asked twice)."
)
@aws_options("Seconds for all of rotate's AWS calls")
@reports(None)
def rotate_command(
    secret_id: str,
    key: str,
    generate: bool,
    length: int,
    from_stdin: bool,
    region: str | None,
    profile: str | None,
    timeout: float | None,
) -> None:
    """Put a new version of SECRET_ID in which only KEY changed (AWSPREVIOUS keeps the old one); the
    new version id is printed, never the value."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    if generate == from_stdin:
        raise click.UsageError("give exactly one of --generate or --stdin (a value is never taken from argv)")
    request = parse_secret_id(secret_id, "SECRET_ID")
    if is_managed_secret(request.secret_id):
        raise ConfigurationError(
            f"{secret_id} is managed by an AWS service: a new value here would not change the database's password",
            hint=f"let the service rotate it: aws secretsmanager rotate-secret --secret-id '{secret_id}'",
        )
    value = generate_value(length) if generate else _read_stdin(key)
    seconds = build_settings(os.environ, timeout=timeout).timeout
    store = SecretStore(AwsSession(seconds, region=region, profile=profile), seconds, request.region or region)
    reporter = state_of(click.get_current_context()).reporter
    version_id = rotate_key(store, secret_id, key, value, lambda message: reporter.warning("label_left", message))
    click.echo(version_id)
    click.echo(
        f"rotated {key} in {secret_id}: new version {version_id} is AWSCURRENT, the old one AWSPREVIOUS", err=True
    )
    click.echo("restart the processes that use it, or run them under `calitho-env run --watch`", err=True)


def _read_stdin(key: str) -> str:
    if sys.stdin.isatty():  # a person at a terminal: ask, hidden, twice, instead of waiting silently
        value = ask_hidden_twice(f"New value for {key} (input hidden)", f"Repeat {key}")
    else:
        value = sys.stdin.read(MAX_VALUE + 1).removesuffix("\n").removesuffix("\r")  # /dev/zero must not fill memory
        if len(value) > MAX_VALUE:
            raise ConfigurationError("the value on standard input is over 64 KiB, Secrets Manager's limit")
    if not value:
        raise ConfigurationError("no value given", hint='e.g. printf %s "$VALUE" | calitho-env rotate ... --stdin')
    return value
