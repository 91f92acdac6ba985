"""`calitho-env setup`: create or update the secrets, then point .env at them.

Interactive by default (values read with hidden input, twice); `--yes` takes the values from the
env files of `--from-mode` (production) and the process environment. Creates or updates each
secret, then offers to add the AWS_SECRET_* lines to .env and to move the development values to
.env.development.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

from calitho_env.admin.envfile_editor import DEVELOPMENT_FILE, EnvFileEdit, apply_edit
from calitho_env.admin.provisioning import Change, Upsert, generate_value, upsert
from calitho_env.admin.seed_secrets import SEED_SECRETS
from calitho_env.commands.options import aws_options, reports
from calitho_env.commands.prompts import ask_hidden_twice
from calitho_env.commands.state import state_of
from calitho_env.core.bindings import PROCESS, Binding, is_valid_name
from calitho_env.core.envfiles import load_env_files
from calitho_env.core.secret_requests import parse_secret_id
from calitho_env.core.settings import build_settings
from calitho_env.errors import CalithoError

if TYPE_CHECKING:
    from calitho_env.aws.secretsmanager import SecretStore, StoredSecret


class PlannedSecret(NamedTuple):
    name: str
    keys: tuple[str, ...]
    mapping: str  # the AWS_SECRET_* variable that maps it
    description: str


def _planned(pairs: tuple[str, ...]) -> list[PlannedSecret]:
    """--secret NAME=KEY[,KEY...], each; none given: Calitho Suite's three."""
    if not pairs:
        return [PlannedSecret(s.default_name, (s.key,), s.mapping, s.description) for s in SEED_SECRETS]
    planned = []
    for pair in pairs:
        name, separator, keys = pair.partition("=")
        names = tuple(key.strip() for key in keys.split(",") if key.strip())
        if not separator or not name or not names or not all(is_valid_name(key) for key in names):
            raise click.BadParameter("the form is NAME=KEY[,KEY...], keys being variable names", param_hint="--secret")
        parse_secret_id(name, "--secret")
        mapping = "AWS_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", name.rsplit("/", 1)[-1]).strip("_").upper()
        planned.append(PlannedSecret(name, names, mapping, "created by calitho-env setup"))
    return planned


def _tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise click.BadParameter("the form is KEY=VALUE", param_hint="--tag")
        tags[key] = value
    return tags


@click.command("setup", short_help="Create or update the secrets in Secrets Manager; point .env at them.")
@click.option("--yes", is_flag=True, help="No questions: values from the env files and environment; .env is edited.")
@click.option("--overwrite", is_flag=True, help="Replace a value that differs without asking.")
@click.option(
    "--secret",
    "secret_pairs",
    multiple=True,
    metavar="NAME=KEY[,KEY...]",
    help="A secret and its keys; repeatable (default: calitho-suite/database=DATABASE_URL, "
    "calitho-suite/nextauth=NEXTAUTH_SECRET, calitho-suite/redis=REDIS_URL).",
)
@click.option(
    "--generate", multiple=True, metavar="KEY", help="Store a new random value for KEY (e.g. NEXTAUTH_SECRET)."
)
@click.option(
    "--from-mode",
    type=click.Choice(["production", "development", "test"]),
    default="production",
    show_default=True,
    help="Whose env files offer the values: production reads .env.production*, .env.local and .env.",
)
@click.option("--kms-key-id", help="Encrypt new secrets with this KMS key.")
@click.option("--tag", "tag_pairs", multiple=True, metavar="KEY=VALUE", help="Tag each secret; repeatable.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder of the env files and of the .env to edit.",
)
@click.option("--no-edit", is_flag=True, help="Leave .env and .env.development as they are.")
@aws_options("Seconds for each secret's AWS calls, the time you spend answering aside")
@reports(None)
def setup_command(
    yes: bool,
    overwrite: bool,
    secret_pairs: tuple[str, ...],
    generate: tuple[str, ...],
    from_mode: str,
    kms_key_id: str | None,
    tag_pairs: tuple[str, ...],
    directory: Path,
    no_edit: bool,
    region: str | None,
    profile: str | None,
    timeout: float | None,
) -> None:
    """Create or update the secrets in AWS Secrets Manager (by default Calitho Suite's three), then
    add the AWS_SECRET_* lines to .env and move the development values to .env.development."""
    from calitho_env.aws.secretsmanager import SecretStore
    from calitho_env.aws.session import AwsSession

    planned, tags = _planned(secret_pairs), _tags(tag_pairs)
    unknown = sorted(set(generate) - {key for secret in planned for key in secret.keys})
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} is in no secret being set up", param_hint="--generate")
    interactive = not yes
    if interactive and not sys.stdin.isatty():
        raise click.UsageError("setup asks questions: run it in a terminal, or pass --yes")
    settings = build_settings(os.environ, mode=from_mode, directory=directory, timeout=timeout)
    offered = _offered_values(settings, os.environ)
    session = AwsSession(settings.timeout, region=region, profile=profile)
    pin_arn = region is not None and region != AwsSession(settings.timeout, profile=profile).region
    results: list[tuple[PlannedSecret, Upsert]] = []
    for secret in planned:
        name = _ask_name(secret, interactive)
        store = SecretStore(session, settings.timeout)  # each secret's calls within --timeout, answers aside
        stored = store.read(name)
        answers = {key: _ask_value(key, offered.get(key), stored, interactive, key in generate) for key in secret.keys}
        values = {key: value for key, (value, _) in answers.items()}
        _warn_about_development_values(name, answers, offered)
        store.restart_deadline()
        result = upsert(
            store,
            name,
            stored,
            values,
            secret.description,
            kms_key_id=kms_key_id,
            tags=tags,
            may_replace=_replace_question(name, overwrite, interactive, store),
        )
        if interactive and result.change is Change.KEPT:
            result = result._replace(change=Change.DECLINED)  # asked, and answered no: a choice
        results.append((secret, result))
        used = [f"{key} {origin}" for key, (value, origin) in answers.items() if value and origin]
        version = f" (version {result.version_id})" if result.version_id else ""
        click.echo(f"{name}: {result.change.value}{version}" + "".join(f"; {u}" for u in used), err=True)
    _summarize(results)
    written = [(s, r) for s, r in results if r.change is not Change.MISSING]
    mappings = {secret.mapping: (r.arn if pin_arn and r.arn else r.secret_id) for secret, r in written}
    moved = frozenset(key for secret, _ in written for key in secret.keys)
    _offer_env_edit(directory / ".env", EnvFileEdit(mappings, moved), interactive, no_edit)
    left = [r for _, r in results if r.change in (Change.KEPT, Change.MISSING)]
    if left:
        raise CalithoError(
            f"{len(left)} secret(s) not written: " + ", ".join(r.secret_id for r in left),
            hint="give the values (in the env files of --from-mode, or when asked), or --overwrite to replace",
        )


def _offered_values(settings: object, environ: Mapping[str, str]) -> dict[str, Binding]:
    """What the env files of --from-mode and the process environment define, the environment winning."""
    from calitho_env.core.settings import Settings

    assert isinstance(settings, Settings)
    files = load_env_files(settings, environ).bindings
    return {**files, **{name: Binding(name, value, PROCESS) for name, value in environ.items()}}


def _summarize(results: list[tuple[PlannedSecret, Upsert]]) -> None:
    if all(r.change is Change.UNCHANGED for _, r in results):
        click.echo("nothing changed: every secret already holds these values", err=True)
        return
    counts: dict[str, int] = {}
    for _, result in results:
        counts[result.change.name.lower()] = counts.get(result.change.name.lower(), 0) + 1
    click.echo("summary: " + ", ".join(f"{count} {change}" for change, count in counts.items()), err=True)


def _replace_question(name: str, overwrite: bool, interactive: bool, store: SecretStore) -> Callable[[str], bool]:
    def may_replace(key: str) -> bool:
        if overwrite or not interactive:
            return overwrite
        replace = click.confirm(f"{name} holds a different {key}. Replace it?", default=False, err=True)
        store.restart_deadline()  # the time spent answering is not the network's
        return replace

    return may_replace


def _ask_name(secret: PlannedSecret, interactive: bool) -> str:
    if not interactive:
        return secret.name
    while True:
        name: str = click.prompt(f"Secret name for {', '.join(secret.keys)}", default=secret.name, err=True)
        try:
            parse_secret_id(name, "secret name")
            return name
        except CalithoError as error:
            click.echo(error.message, err=True)


def _ask_value(
    key: str, offered: Binding | None, stored: StoredSecret | None, interactive: bool, generate: bool
) -> tuple[str | None, str | None]:
    """The value for `key` and where it came from ("typed", "generated", "from file:.env:3"; None: kept)."""
    taken = (offered.value, f"from {offered.source}") if offered and offered.value else (None, None)
    if generate:
        return generate_value(), "generated"
    if not interactive:
        return taken
    if key == "NEXTAUTH_SECRET" and click.confirm(f"Generate a new {key}?", default=offered is None, err=True):
        return generate_value(), "generated"
    if offered and offered.value:
        keeps = f"Enter takes the value from {offered.source}"
    elif stored is not None:
        keeps = "Enter keeps the secret's current value"
    else:
        keeps = "Enter skips it"
    value = ask_hidden_twice(f"{key} (input hidden; {keeps})", f"Repeat {key}")
    if value:
        return value, "typed"
    return taken


def _warn_about_development_values(
    name: str, answers: Mapping[str, tuple[str | None, str | None]], offered: Mapping[str, Binding]
) -> None:
    """Before the write: a value that looks like development's is named (key and file, never the value)."""
    from calitho_env.admin.value_checks import points_at_this_machine, shared_with_development

    reporter = state_of(click.get_current_context()).reporter
    for key, (value, origin) in answers.items():
        if not value or origin == "generated":
            continue
        where = "typed at the prompt" if origin == "typed" else f"from {offered[key].source}"
        if points_at_this_machine(value):
            reporter.warning(
                "setup_local_value",
                f"{key} for {name} ({where}) points at this machine (localhost or a loopback address): "
                "production will not reach it",
                key=key,
                secret_id=name,
            )
        shared = shared_with_development(offered[key]) if origin != "typed" else None
        if shared:
            reporter.warning(
                "setup_shared_file_value",
                f"{key} for {name} comes from {shared}, which development reads too: "
                "is it a development value? Production values belong in .env.production or are typed",
                key=key,
                secret_id=name,
                path=shared,
            )


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
