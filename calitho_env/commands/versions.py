"""`calitho-env versions SECRET_ID`: a secret's versions, their labels and when each was made; never a value."""

from __future__ import annotations

import os

import click

from calitho_env.admin.versions import secret_versions, version_table
from calitho_env.commands.options import aws_options, reports
from calitho_env.core.secret_requests import parse_secret_id
from calitho_env.core.settings import build_settings


@click.command("versions", short_help="List a secret's versions and labels (never values).")
@click.argument("secret_id")
@aws_options("Seconds for all of versions' AWS calls")
@reports(None)
def versions_command(secret_id: str, region: str | None, profile: str | None, timeout: float | None) -> None:
    """List the versions of SECRET_ID that carry a label (AWSCURRENT, AWSPREVIOUS, ...), newest first,
    with when each was created. Values are never read."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    request = parse_secret_id(secret_id, "SECRET_ID")
    seconds = build_settings(os.environ, timeout=timeout).timeout
    store = SecretStore(AwsSession(seconds, region=region, profile=profile), seconds, request.region or region)
    click.echo(version_table(secret_versions(store, secret_id)))
