"""A resolved variable (`Binding`), where its value came from, and the rules for its name and value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from calitho_env.errors import ConfigurationError

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Keys a secret may not set: they change which program runs, what an interpreter loads before the
# app's own code, or where the SDK and TLS clients send requests and whom they trust. Whoever can
# write a secret must not gain code execution in every service that reads it.
PROTECTED_NAMES = frozenset(
    {
        "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND",
        "NODE_OPTIONS", "NODE_PATH", "NODE_EXTRA_CA_CERTS",
        "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONINSPECT",
        "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "RUBYOPT", "RUBYLIB",
        "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH",
        "GCONV_PATH", "LOCPATH", "MALLOC_CONF",
        "AWS_CA_BUNDLE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    }
)  # fmt: skip
PROTECTED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_", "AWS_ENDPOINT_URL")


class ProcessSource(NamedTuple):
    def __str__(self) -> str:
        return "process"


class FileSource(NamedTuple):
    path: str
    line: int

    def __str__(self) -> str:
        return f"file:{self.path}:{self.line}"


class SecretSource(NamedTuple):
    """aws:SECRET-ID@VERSION-ID, or ssm:PARAMETER@VERSION; a replica's region is named too."""

    secret_id: str
    version_id: str | None
    service: str = "aws"  # "aws": Secrets Manager; "ssm": Parameter Store
    replica_region: str | None = None  # set when the value came from a replica after a failover

    def __str__(self) -> str:
        return self._text(self.version_id)

    def short(self) -> str:
        """For people: the first 8 characters of a version id, as git shortens a commit."""
        return self._text(self.version_id[:8] if self.version_id and self.service == "aws" else self.version_id)

    def _text(self, version: str | None) -> str:
        suffix = f"@{version}" if version else ""
        replica = f" (replica {self.replica_region})" if self.replica_region else ""
        return f"{self.service}:{self.secret_id}{suffix}{replica}"


class FallbackSource(NamedTuple):
    """A secret failed; the value is the next one down the priority."""

    secret_id: str
    underlying: ProcessSource | FileSource

    def __str__(self) -> str:
        return f"fallback:{self.underlying}"


class ComposedSource(NamedTuple):
    """A value from an env file or the environment whose `{{ NAME.key }}` templates were filled from
    the secrets of those mappings: composed:DB from aws:SECRET-ID@VERSION-ID."""

    template: ProcessSource | FileSource  # where the template came from
    secrets: tuple[tuple[str, SecretSource], ...]  # (mapping name, the secret's source), in order of use

    def __str__(self) -> str:
        return self._text(str)

    def short(self) -> str:
        return self._text(SecretSource.short)

    def _text(self, shown: Callable[[SecretSource], str]) -> str:
        return "composed:" + ", ".join(f"{name} from {shown(secret)}" for name, secret in self.secrets)


Source = ProcessSource | FileSource | SecretSource | FallbackSource | ComposedSource
PROCESS = ProcessSource()


class Binding(NamedTuple):
    """One variable, its value, and where the value came from."""

    name: str
    value: str
    source: Source


def is_valid_name(name: str) -> bool:
    return VARIABLE_NAME.fullmatch(name) is not None


def require_valid(name: str, value: str, where: str) -> None:
    """Raise a configuration error naming the variable (never its value)."""
    if not is_valid_name(name):
        raise ConfigurationError(
            f"{where}: not a variable name: {describe_unlike(name, VARIABLE_NAME)}",
            hint="names must match [A-Za-z_][A-Za-z0-9_]* (is a value on a line of its own, or unquoted over lines?)",
        )
    if "\x00" in value:
        raise ConfigurationError(
            f"{where}: the value of {name} contains a NUL character",
            hint="environment values cannot carry NUL; fix the value at its source",
        )


def describe_unlike(text: str, pattern: re.Pattern[str]) -> str:
    """Say what keeps `text` from matching `pattern`, character classes only, never the text itself:
    what looks like a name may be a value on the wrong line."""
    if not text:
        return "it is empty"
    odd = sorted({char for char in text if not pattern.fullmatch(char) and not pattern.fullmatch("A" + char)})
    if not odd:
        return "it starts with a digit" if text[0].isdigit() else f"{len(text)} characters"
    shown = [
        repr(char) if char.isascii() and char.isprintable() and char != " " else f"U+{ord(char):04X}" for char in odd
    ]
    listed = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    return f"it contains {listed}"


def is_protected(name: str, allowed: frozenset[str] = frozenset()) -> bool:
    """A name a secret may not set, unless `--allow-key` accepts it on purpose."""
    return name not in allowed and (name in PROTECTED_NAMES or name.startswith(PROTECTED_PREFIXES))
