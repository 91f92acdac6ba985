"""`calitho-env setup`: create or update the secrets, then point .env at them.

Interactive by default (values read with hidden input); `--yes` takes the values from the
env files. Creates or updates each secret, then offers to add the AWS_SECRET_* lines to
.env and to move the development values to .env.development.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from calitho_env.admin.envfile_editor import DEVELOPMENT_FILE, EnvFileEdit, apply_edit
from calitho_env.admin.provisioning import Change, generate_value, upsert
from calitho_env.admin.seed_secrets import SEED_SECRETS, SeedSecret
from calitho_env.commands.options import output_options
from calitho_env.core.envfiles import load_env_files
from calitho_env.core.secret_requests import parse_secret_id
from calitho_env.core.settings import DEFAULT_TIMEOUT, build_settings
from calitho_env.errors import CalithoError


def _tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--tag")
        tags[key] = value
    return tags


@click.command("setup")
@click.option("--yes", is_flag=True, help="No questions: values from the env files, and .env is edited.")
@click.option("--overwrite", is_flag=True, help="Replace a value that differs without asking.")
@click.option(
    "--generate", multiple=True, metavar="KEY", help="Store a new random value for KEY (e.g. NEXTAUTH_SECRET)."
)
@click.option("--region", help="AWS region (default: AWS_REGION or the profile's).")
@click.option("--kms-key-id", help="Encrypt the secrets with this KMS key.")
@click.option("--tag", "tag_pairs", multiple=True, metavar="KEY=VALUE", help="Tag each secret; repeatable.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder of the env files and of the .env to edit.",
)
@click.option("--no-edit", is_flag=True, help="Leave .env as it is.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds for each secret's AWS calls (the time you spend answering questions aside).",
)
@output_options
def setup_command(
    yes: bool,
    overwrite: bool,
    generate: tuple[str, ...],
    region: str | None,
    kms_key_id: str | None,
    tag_pairs: tuple[str, ...],
    directory: Path,
    no_edit: bool,
    timeout: float,
) -> None:
    """Create or update the Calitho Suite secrets in AWS Secrets Manager."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    tags = _tags(tag_pairs)
    interactive = not yes
    if interactive and not sys.stdin.isatty():
        raise click.UsageError("setup asks questions: run it in a terminal, or pass --yes")
    files = load_env_files(build_settings(os.environ, directory=directory), os.environ).bindings
    session = AwsSession(timeout, region=region)
    mappings: dict[str, str] = {}
    migrated: set[str] = set()
    changes = []
    for seed in SEED_SECRETS:
        name = _ask_name(seed, interactive)
        default = files[seed.key].value if seed.key in files else None
        value = _ask_value(seed, default, interactive, seed.key in generate)
        store = SecretStore(session, timeout)  # each secret's calls within --timeout, questions aside
        result = upsert(
            store,
            name,
            seed.key,
            value,
            seed.description,
            kms_key_id=kms_key_id,
            tags=tags,
            may_replace=_replace_question(name, seed.key, overwrite, interactive, store.restart_deadline),
        )
        changes.append(result.change)
        version = f" (version {result.version_id})" if result.version_id else ""
        click.echo(f"{name}: {result.change.value}{version}", err=True)
        if result.change is not Change.MISSING:
            mappings[seed.mapping] = name
            migrated.add(seed.key)
    if all(change is Change.UNCHANGED for change in changes):
        click.echo("nothing changed: every secret already holds these values", err=True)
    _offer_env_edit(directory / ".env", EnvFileEdit(mappings, frozenset(migrated)), interactive, no_edit)
    left = [change for change in changes if change in (Change.KEPT, Change.MISSING)]
    if left:
        raise CalithoError(f"{len(left)} secret(s) not written", hint="give the values, or --overwrite to replace")


def _replace_question(
    name: str, key: str, overwrite: bool, interactive: bool, answered: Callable[[], None]
) -> Callable[[], bool]:
    def may_replace() -> bool:
        if overwrite or not interactive:
            return overwrite
        replace = click.confirm(f"{name} holds a different {key}. Replace it?", default=False, err=True)
        answered()
        return replace

    return may_replace


def _ask_name(seed: SeedSecret, interactive: bool) -> str:
    if not interactive:
        return seed.default_name
    while True:
        name: str = click.prompt(f"Secret name for {seed.key}", default=seed.default_name, err=True)
        try:
            parse_secret_id(name, "secret name")
            return name
        except CalithoError as error:
            click.echo(error.message, err=True)


def _ask_value(seed: SeedSecret, default: str | None, interactive: bool, generate: bool) -> str | None:
    if generate:
        return generate_value()
    if not interactive:
        return default or None
    if seed.key == "NEXTAUTH_SECRET" and click.confirm(f"Generate a new {seed.key}?", default=not default, err=True):
        return generate_value()
    keep = "the value from the env files" if default else "the secret's current value"
    value: str = click.prompt(
        f"{seed.key} (input hidden; Enter keeps {keep})",
        hide_input=True,
        default=default or "",
        show_default=False,
        err=True,
    )
    return value or None


def _offer_env_edit(path: Path, edit: EnvFileEdit, interactive: bool, no_edit: bool) -> None:
    if no_edit or not edit.mappings:
        return
    question = f"Add the AWS_SECRET_* lines to {path} and move the development values to {DEVELOPMENT_FILE}?"
    if interactive and not click.confirm(question, default=True, err=True):
        return
    edited = apply_edit(path, edit)
    if not edited:
        click.echo(f"{path} already maps these secrets", err=True)
    for changed in edited:
        click.echo(f"updated {changed.path}" + (f" (backup: {changed.backup})" if changed.backup else ""), err=True)
