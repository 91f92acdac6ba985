"""Flags + environment -> Settings: everything resolution needs to know, decided once."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from calitho_env.errors import ConfigurationError

DEFAULT_TIMEOUT = 10.0
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class Mode(enum.Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class ModeChoice(NamedTuple):
    mode: Mode
    origin: str  # "--mode", "CALITHO_ENV_MODE", "NODE_ENV" or "default"

    def describe(self) -> str:
        if self.origin == "default":
            return f"{self.mode.value} (default: neither --mode, CALITHO_ENV_MODE nor NODE_ENV is set)"
        return f"{self.mode.value} (from {self.origin})"


def choose_mode(flag: str | None, environ: Mapping[str, str]) -> ModeChoice:
    """--mode > CALITHO_ENV_MODE > NODE_ENV > development."""
    for origin, raw in (
        ("--mode", flag),
        ("CALITHO_ENV_MODE", environ.get("CALITHO_ENV_MODE")),
        ("NODE_ENV", environ.get("NODE_ENV")),
    ):
        if raw is None or raw == "":
            continue
        try:
            return ModeChoice(Mode(raw.strip().lower()), origin)
        except ValueError:
            shown = repr(raw) if re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", raw) else "a value"
            raise ConfigurationError(
                f"{origin} is {shown}, which is not a mode (development, production, test)",
                hint="choose the mode with --mode or CALITHO_ENV_MODE (which win over NODE_ENV); a stage such as "
                "staging is production with its own secrets: docs/production.md, Staging",
            ) from None
    return ModeChoice(Mode.DEVELOPMENT, "default")


class Fallback(enum.Enum):
    """What may stand in for a secret that cannot be fetched."""

    ALL = "all"  # env files and the process environment
    ENVIRONMENT = "environment"  # the process environment only
    NONE = "none"  # nothing: any failure is fatal (exit 69)


class Settings(NamedTuple):
    mode: ModeChoice
    directory: Path = Path(".")
    env_files: tuple[Path, ...] = ()  # explicit --env-file list; empty means the cascade
    timeout: float = DEFAULT_TIMEOUT
    fallback: Fallback = Fallback.ALL
    preserve_env: bool = False
    required: tuple[str, ...] = ()
    batch: bool = False  # BatchGetSecretValue, 20 secrets a call (opt-in)
    references: bool = True  # ARN values are secret references (production only)
    allowed_keys: frozenset[str] = frozenset()  # protected names a secret may set on purpose
    region: str | None = None  # --region; None: the SDK's own (AWS_REGION, the profile's)
    profile: str | None = None  # --profile; None: the SDK's own (AWS_PROFILE)
    regions: tuple[str, ...] = ()  # --regions: the primary, then replicas to fail over to
    example: Path | None = None  # the app's .env.example (declared names); None: no declaration check
    example_given: bool = False  # named by --example or CALITHO_ENV_EXAMPLE: it must exist


def build_settings(
    environ: Mapping[str, str],
    *,
    mode: str | None = None,
    directory: Path | None = None,
    env_files: Sequence[Path] = (),
    timeout: float | None = None,
    fallback: str | None = None,
    no_fallback: bool = False,
    preserve_env: bool = False,
    required: Sequence[str] = (),
    batch: bool = False,
    no_references: bool = False,
    allowed_keys: Sequence[str] = (),
    region: str | None = None,
    profile: str | None = None,
    regions: Sequence[str] = (),
    example: str | None = None,
) -> Settings:
    """Combine flags with the CALITHO_ENV_* variables of the process environment."""
    references = not no_references and environ.get("CALITHO_ENV_REFERENCES", "1").strip().lower() not in _FALSE_WORDS
    example_path, example_given = _example_from(example, environ, directory if directory is not None else Path("."))
    return Settings(
        mode=choose_mode(mode, environ),
        directory=directory if directory is not None else Path("."),
        env_files=tuple(env_files),
        timeout=timeout if timeout is not None else _timeout_from(environ),
        fallback=Fallback.NONE if no_fallback else _fallback_from(fallback, environ),
        preserve_env=preserve_env,
        required=_names(required, environ, "CALITHO_ENV_REQUIRE"),
        batch=batch or environ.get("CALITHO_ENV_BATCH", "").strip().lower() in ("1", "true", "yes", "on"),
        references=references,
        allowed_keys=frozenset(_names(allowed_keys, environ, "CALITHO_ENV_ALLOW_KEYS")),
        region=region or None,
        profile=profile or None,
        regions=_regions(regions, environ),
        example=example_path,
        example_given=example_given,
    )


def _example_from(flag: str | None, environ: Mapping[str, str], directory: Path) -> tuple[Path | None, bool]:
    """--example FILE, else CALITHO_ENV_EXAMPLE, else .env.example in --dir if it exists; `none` turns it off."""
    raw = flag if flag else environ.get("CALITHO_ENV_EXAMPLE", "")
    if raw.strip().lower() == "none":
        return None, False
    if raw:
        return Path(raw), True
    return directory / ".env.example", False


def _regions(flag: Sequence[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """--regions A,B (or CALITHO_ENV_REGIONS): each a region name, the first the primary."""
    words = [w.strip() for part in (flag or [environ.get("CALITHO_ENV_REGIONS", "")]) for w in part.split(",")]
    regions = tuple(dict.fromkeys(w for w in words if w))
    bad = [r for r in regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", r)]
    if bad:
        raise ConfigurationError(f"--regions: {len(bad)} item(s) are not region names", hint="e.g. us-west-1,us-east-2")
    return regions


def _names(flags: Sequence[str], environ: Mapping[str, str], variable: str) -> tuple[str, ...]:
    """The names given by a repeatable flag, then those of a comma-separated variable, each once."""
    names = list(flags)
    for name in environ.get(variable, "").split(","):
        if name.strip() and name.strip() not in names:
            names.append(name.strip())
    return tuple(names)


def _fallback_from(flag: str | None, environ: Mapping[str, str]) -> Fallback:
    """--fallback, else CALITHO_ENV_FALLBACK (where 0/false/no/off mean none), else all."""
    origin, raw = ("--fallback", flag) if flag else ("CALITHO_ENV_FALLBACK", environ.get("CALITHO_ENV_FALLBACK", ""))
    word = raw.strip().lower()
    if not word:
        return Fallback.ALL
    if word in _FALSE_WORDS:
        return Fallback.NONE
    if word in ("1", "true", "yes", "on"):
        return Fallback.ALL
    try:
        return Fallback(word)
    except ValueError:
        raise ConfigurationError(
            f"{origin} is not one of all, environment, none", hint="e.g. CALITHO_ENV_FALLBACK=environment"
        ) from None


def _timeout_from(environ: Mapping[str, str]) -> float:
    raw = environ.get("CALITHO_ENV_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ConfigurationError(
            "CALITHO_ENV_TIMEOUT is not a number of seconds",
            hint="use a number between 0 and 3600, e.g. 10",
        )
    return value
