"""Errors as types: each carries its exit code and a hint for the user.

They are raised where the fault is known and printed once, at the CLI edge.
No message may contain a secret value: only names, secret ids, files and codes.
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_FAILURE = 1
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE
EXIT_CONFIG = 78  # sysexits EX_CONFIG
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127


class CalithoError(Exception):
    """Base of every error calitho-env reports to the user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigurationError(CalithoError):
    """Bad env file, mode, mapping, secret shape, name, or a missing required variable."""

    exit_code = EXIT_CONFIG


class MissingVariablesError(ConfigurationError):
    """Variables named by --require (or asked for through the API) are unset or empty."""

    def __init__(self, names: list[str], causes: Mapping[str, str] | None = None, hint: str | None = None) -> None:
        self.names = names
        causes = causes or {}  # name -> the failed secret that should have set it
        super().__init__(
            "required variable(s) missing or empty: "
            + ", ".join(f"{name} ({causes[name]})" if name in causes else name for name in names),
            hint=hint or "define them in an env file, the environment, or a mapped secret",
        )


class DeclaredVariablesMissingError(MissingVariablesError):
    """Variables the app's .env.example declares are unset once resolution is done."""

    def __init__(self, example: str, missing: dict[str, str | None]) -> None:
        super().__init__(list(missing))
        self.message = f"declared in {example} but not set: " + ", ".join(
            f"{name} ({why})" if why else name for name, why in missing.items()
        )
        self.args = (self.message,)
        self.hint = (
            "set each in an env file, the environment or a mapped secret (an empty value counts as set), "
            "or remove it from the example; --example none turns the check off"
        )


class TemplateError(ConfigurationError):
    """A `{{ NAME.key }}` in a value is malformed, or names a key its secret lacks."""


class SecretUnavailableError(CalithoError):
    """A secret could not be fetched and fallback is off."""

    exit_code = EXIT_UNAVAILABLE


class AwsError(CalithoError):
    """An AWS call of an operator command failed; `code` is the AWS error code (or NoCredentials, ...)."""

    def __init__(self, message: str, code: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class CommandNotFoundError(CalithoError):
    exit_code = EXIT_NOT_FOUND


class CommandNotExecutableError(CalithoError):
    exit_code = EXIT_NOT_EXECUTABLE


class Interrupted(BaseException):
    """A signal asked calitho-env to stop (SIGTERM, SIGINT, SIGHUP, SIGQUIT): exit 128+n, start nothing."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
