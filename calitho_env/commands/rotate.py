"""`calitho-env rotate SECRET-ID KEY`: a new version with one key changed; the value is never printed."""

from __future__ import annotations

import sys

import click

from calitho_env.admin.provisioning import generate_value, rotate_key
from calitho_env.commands.options import output_options
from calitho_env.core.secret_requests import parse_secret_id
from calitho_env.core.settings import DEFAULT_TIMEOUT
from calitho_env.errors import ConfigurationError


@click.command("rotate")
@click.argument("secret_id")
@click.argument("key")
@click.option("--generate", is_flag=True, help="A new random value (letters, digits, - and _).")
@click.option(
    "--length", type=click.IntRange(16, 4096), default=48, show_default=True, help="Length of the generated value."
)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the new value from standard input.")
@click.option("--region", help="AWS region (default: AWS_REGION or the profile's; an ARN's region wins).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds for all of rotate's AWS calls.",
)
@output_options
def rotate_command(
    secret_id: str, key: str, generate: bool, length: int, from_stdin: bool, region: str | None, timeout: float
) -> None:
    """Put a new version of SECRET-ID in which only KEY changed (AWSPREVIOUS keeps the old one)."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    if generate == from_stdin:
        raise click.UsageError("give exactly one of --generate or --stdin (a value is never taken from argv)")
    value = generate_value(length) if generate else _read_stdin()
    request = parse_secret_id(secret_id, "SECRET-ID")
    store = SecretStore(AwsSession(timeout, region=region), timeout, request.region)
    version_id = rotate_key(store, secret_id, key, value)
    click.echo(version_id)
    click.echo(
        f"rotated {key} in {secret_id}: new version {version_id} is AWSCURRENT, the old one AWSPREVIOUS", err=True
    )
    click.echo("restart the processes that use it: calitho-env reads secrets when they start", err=True)


def _read_stdin() -> str:
    value = sys.stdin.read()
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ConfigurationError("no value on standard input", hint='e.g. printf %s "$VALUE" | calitho-env rotate ...')
    return value
