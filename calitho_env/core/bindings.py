"""A resolved variable (`Binding`), where its value came from, and the rules for its name and value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from calitho_env.errors import ConfigurationError

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Keys a secret may not set (docs/safety.md): they change which program runs, what an interpreter,
# a shell or a tool the app launches loads or executes, where the SDK, TLS and package clients send
# requests and whom they trust, or where the credentials come from. Whoever can write a secret must
# not gain code execution in every service that reads it. Compared as written: their readers do.
PROTECTED_NAMES = frozenset(
    {
        "PATH", "HOME", "SHELL", "TMPDIR",
        # glibc's own list of variables it ignores for setuid programs
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH",
        "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR",
        "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND",
        "CDPATH", "GLOBIGNORE", "FPATH", "ZDOTDIR", "HISTFILE", "INPUTRC",
        "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "JAVA_OPTS", "JAVA_HOME", "CLASSPATH",
        "MAVEN_OPTS", "GRADLE_OPTS",
        "DOTNET_STARTUP_HOOKS", "DOTNET_ADDITIONAL_DEPS", "COR_ENABLE_PROFILING", "COR_PROFILER", "COR_PROFILER_PATH",
        "PHPRC", "PHP_INI_SCAN_DIR",
        "GOFLAGS", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GONOPROXY", "GOINSECURE", "GOPRIVATE",
        "GOTOOLCHAIN", "GOENV",
        "RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTDOC", "RUSTFLAGS",
        "MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "CC", "CXX",
        "PNPM_HOME",
        "BROWSER", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "MANOPT", "SYSTEMD_PAGER", "SYSTEMD_EDITOR",
        "SYSTEMD_LESS", "LESS", "LESSOPEN", "LESSCLOSE", "LESSKEY", "LESSKEYIN", "LESSSECURE",
        "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "SUDO_ASKPASS", "SSH_AUTH_SOCK",
        "CURL_HOME", "WGETRC", "NETRC", "DOCKER_CONFIG", "DOCKER_HOST", "KUBECONFIG", "GNUPGHOME",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
        "AWS_CA_BUNDLE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SDK_LOAD_CONFIG",
        "AWS_LAMBDA_RUNTIME_API",
        # more interpreters that run code from a variable, and tools that run the command one names
        "ERL_AFLAGS", "ERL_FLAGS", "ERL_ZFLAGS", "ELIXIR_ERL_OPTIONS", "BUN_OPTIONS", "TCLLIBPATH",
        "R_PROFILE", "R_PROFILE_USER", "R_ENVIRON", "R_ENVIRON_USER", "BOTO_CONFIG",
        "SVN_SSH", "SVN_EDITOR", "CVS_RSH", "RSYNC_RSH", "RSYNC_CONNECT_PROG", "SUDO_EDITOR", "FCEDIT", "HGRCPATH",
    }
)  # fmt: skip
PROTECTED_PREFIXES = (
    "LD_", "DYLD_", "MALLOC_", "BASH_FUNC_", "XDG_",
    "NODE_", "__NEXT_", "NEXT_PRIVATE_", "PYTHON", "PERL", "RUBY", "GEM_", "BUNDLE_", "CORECLR_",
    "CARGO_", "RUSTUP_", "GIT_", "PIP_", "UV_", "POETRY_", "PIPENV_", "COREPACK_", "OPENSSL_",
    "AWS_ENDPOINT_URL", "AWS_CONTAINER_", "AWS_EC2_METADATA_", "CALITHO_ENV_", "LUA_", "DENO_",
)  # fmt: skip
# Compared case-insensitively, because their readers are: Python's urllib (so requests and
# botocore) lower-cases every *_proxy name, npm and pnpm read npm_config_* in any case, yarn YARN_*.
CASELESS_PROTECTED_NAMES = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy", "socks_proxy", "ws_proxy", "wss_proxy",
     "grpc_proxy"}
)  # fmt: skip
CASELESS_PROTECTED_PREFIXES = ("npm_config_", "pnpm_config_", "yarn_")
# Under a protected prefix, but read by the app and by frameworks rather than by node itself.
UNPROTECTED_NAMES = frozenset({"NODE_ENV"})


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
    if name in allowed or name in UNPROTECTED_NAMES:
        return False
    lowered = name.lower()
    return (
        name in PROTECTED_NAMES
        or name.startswith(PROTECTED_PREFIXES)
        or lowered in CASELESS_PROTECTED_NAMES
        or lowered.startswith(CASELESS_PROTECTED_PREFIXES)
    )
