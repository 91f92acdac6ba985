"""`calitho-env iam-policy`: the least-privilege policy for the configured secrets, as JSON."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from calitho_env.admin.check_report import STS_TIMEOUT
from calitho_env.admin.iam_policy import policy
from calitho_env.admin.seed_secrets import SEED_SECRETS
from calitho_env.commands.options import aws_options, production_source_options, reports, settings_from
from calitho_env.commands.state import state_of
from calitho_env.core.fetched import FetchFailure, sts_hint
from calitho_env.core.resolution import read_configuration
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.core.settings import Settings
from calitho_env.errors import ConfigurationError


@click.command("iam-policy", short_help="Print the least-privilege IAM policy for the configured secrets.")
@click.option("--account", help="The AWS account id (default: STS GetCallerIdentity, else '*').")
@click.option(
    "--for",
    "purpose",
    type=click.Choice(["run", "setup"]),
    default="run",
    show_default=True,
    help="run: read the secrets; setup: also create, update and tag them, list and relabel their versions "
    "(setup, rotate, versions, rollback).",
)
@click.option(
    "--batch", is_flag=True, help="Also allow BatchGetSecretValue, for run --batch (also CALITHO_ENV_BATCH=1)."
)
@production_source_options
@aws_options("Seconds for the STS call that finds the account")
@reports(None)
@click.pass_context
def iam_policy_command(ctx: click.Context, /, account: str | None, purpose: str, **options: Any) -> None:
    """Print the least-privilege IAM policy that run (or setup) needs for the configured secrets."""
    settings = settings_from(options)
    requests = list(read_configuration(settings, os.environ, references=settings.references).used_by())
    if not requests and purpose == "setup":
        requests = [SecretRequest(seed.default_name) for seed in SEED_SECRETS]
    if not requests:
        raise ConfigurationError("no secrets are configured", hint="add AWS_SECRET_<NAME>=<secret-id> to .env")
    region, account = _region_and_account(ctx, settings, account)
    click.echo(json.dumps(policy(requests, region, account, purpose, settings.batch), indent=2))


def _region_and_account(ctx: click.Context, settings: Settings, account: str | None) -> tuple[str | None, str]:
    from calitho_env.aws.deadline import call_all
    from calitho_env.aws.session import AwsSession

    session = AwsSession(settings.timeout, region=settings.region, profile=settings.profile)
    if account:
        return session.region, account
    (identity,) = call_all([lambda: session.sts().get_caller_identity()], min(settings.timeout, STS_TIMEOUT))
    if isinstance(identity, FetchFailure):
        state_of(ctx).reporter.warning(
            "account_unknown",
            f"account unknown ({identity.code}); using '*'",
            hint="pass --account ID for an exact policy; " + sts_hint(identity.code),
        )
        return session.region, "*"
    return session.region, str(identity["Account"])
