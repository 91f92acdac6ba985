"""`calitho-env rollback SECRET_ID`: make the AWSPREVIOUS version current again."""

from __future__ import annotations

import os

import click

from calitho_env.admin.versions import roll_back
from calitho_env.commands.options import aws_options, reports
from calitho_env.commands.state import state_of
from calitho_env.core.secret_requests import is_managed_secret, parse_secret_id
from calitho_env.core.settings import build_settings


@click.command("rollback", short_help="Make a secret's previous version (AWSPREVIOUS) current again.")
@click.argument("secret_id")
@aws_options("Seconds for all of rollback's AWS calls")
@reports(None)
def rollback_command(secret_id: str, region: str | None, profile: str | None, timeout: float | None) -> None:
    """Move AWSCURRENT of SECRET_ID back to its AWSPREVIOUS version, only if AWSCURRENT has not moved
    meanwhile; the version that was current becomes AWSPREVIOUS, so a second rollback undoes the first.
    The version id now current is printed, never a value."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    request = parse_secret_id(secret_id, "SECRET_ID")
    seconds = build_settings(os.environ, timeout=timeout).timeout
    store = SecretStore(AwsSession(seconds, region=region, profile=profile), seconds, request.region or region)
    done = roll_back(store, secret_id)
    click.echo(done.current)
    click.echo(
        f"rolled back {secret_id}: version {done.current} is AWSCURRENT again, {done.previous} is AWSPREVIOUS "
        "(roll back again to undo)",
        err=True,
    )
    if is_managed_secret(request.secret_id):  # its rotation changed the database too: the label alone moved back
        state_of(click.get_current_context()).reporter.warning(
            "managed_rollback",
            f"{secret_id} is managed by an AWS service, whose rotation also changed the resource it guards (the "
            "database's password): that change is not rolled back, so the value now current may be refused there",
            hint="roll back again to undo, or rotate it with the service: "
            f"aws secretsmanager rotate-secret --secret-id '{secret_id}'",
        )
    click.echo("restart the processes that use it, or run them under `calitho-env run --watch`", err=True)
