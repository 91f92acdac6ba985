"""In-process statements of the safety rules, so that `make mutate` (mutmut) can see a planted change.

The CLI tests run a fresh interpreter, which never loads a mutant; these call the rules directly.
"""

from __future__ import annotations

import pytest

from calitho_env.core.bindings import is_protected
from tests.test_protected_names_contract import PROMISED

NOT_PROTECTED = ["DATABASE_URL", "PATH_INFO", "HOMEPAGE", "MY_LD_PRELOAD", "LD", "AWS_ENDPOINT", "NODE_ENV", "proxy"]


@pytest.mark.parametrize("name", PROMISED)
def test_every_promised_name_is_protected_unless_allowed(name: str) -> None:
    assert is_protected(name)
    assert is_protected(name, frozenset({"OTHER"}))
    assert not is_protected(name, frozenset({"OTHER", name}))


@pytest.mark.parametrize("name", NOT_PROTECTED)
def test_names_that_only_look_alike_are_not_protected(name: str) -> None:
    assert not is_protected(name)


# --- names and values: refused with a description, never an echo -----------------------------


def test_an_invalid_name_is_described_by_its_odd_characters_never_echoed() -> None:
    from calitho_env.core.bindings import require_valid
    from calitho_env.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        require_valid("postgres://u:pw@db", "x", ".env:2")
    assert raised.value.message == ".env:2: not a variable name: it contains '/', ':' and '@'"
    assert raised.value.hint is not None
    assert raised.value.hint.startswith("names must match [A-Za-z_][A-Za-z0-9_]*")
    assert "pw" not in raised.value.message


def test_a_nul_in_a_value_names_the_variable_not_the_value() -> None:
    from calitho_env.core.bindings import require_valid
    from calitho_env.errors import ConfigurationError

    require_valid("GOOD_NAME", "fine value", "here")  # no error
    with pytest.raises(ConfigurationError) as raised:
        require_valid("TOKEN", "sec\x00ret", "secret app")
    assert raised.value.message == "secret app: the value of TOKEN contains a NUL character"
    assert raised.value.hint == "environment values cannot carry NUL; fix the value at its source"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "it is empty"),
        ("1ABC", "it starts with a digit"),
        ("A B", "it contains U+0020"),
        ("NAME-1", "it contains '-'"),
        ("caf\u00e9", "it contains U+00E9"),
        ("ABCDEFGH", "8 characters"),
    ],
)
def test_describe_unlike_says_what_is_wrong_in_character_classes(text: str, said: str) -> None:
    from calitho_env.core.bindings import VARIABLE_NAME, describe_unlike

    assert describe_unlike(text, VARIABLE_NAME) == said


def test_a_secret_source_names_service_id_version_and_replica() -> None:
    from calitho_env.core.bindings import SecretSource

    assert str(SecretSource("app/db", "0123456789abcdef")) == "aws:app/db@0123456789abcdef"
    assert SecretSource("app/db", "0123456789abcdef").short() == "aws:app/db@01234567"
    assert str(SecretSource("app/db", None)) == "aws:app/db"
    assert str(SecretSource("/p/x", "3", "ssm")) == "ssm:/p/x@3"
    assert SecretSource("/p/x", "3", "ssm").short() == "ssm:/p/x@3"
    assert str(SecretSource("app/db", "v1", replica_region="us-east-2")) == "aws:app/db@v1 (replica us-east-2)"
