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
