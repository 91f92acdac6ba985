"""The priority table and fallback, stated directly: `resolve` in-process with a fake fetch.

Each row: the mode, --preserve-env, whether the secret could be fetched, and whether the
process environment also sets the variable -> which value the child gets and from where.
The subprocess tests elsewhere cover exec, exit codes and leaks; these state the rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest

from calitho_env.core.fetched import FetchedSecret, FetchFailure, FetchResult
from calitho_env.core.resolution import Resolution, resolve
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.core.settings import build_settings
from calitho_env.errors import SecretUnavailableError

ARN = "arn:aws:secretsmanager:us-west-1:123456789012:secret:app/db-AbCdEf"
ENV_FILE = f"AWS_SECRET_APP=app/mapped\nMAPPED=file\nREFERENCED={ARN}:REFERENCED\n"
SECRETS = {
    SecretRequest("app/mapped"): '{"MAPPED": "secret"}',
    SecretRequest(ARN, region="us-west-1"): '{"REFERENCED": "secret"}',
}


class FakeFetch:
    def __init__(self, available: bool) -> None:
        self.available = available
        self.calls: list[list[SecretRequest]] = []

    def __call__(self, requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        self.calls.append(list(requests))
        if not self.available:
            return [FetchResult(r, FetchFailure("ResourceNotFoundException", "not found"), 1.0) for r in requests]
        return [FetchResult(r, FetchedSecret(r.secret_id, "v1", SECRETS[r]), 1.0) for r in requests]


def resolved(
    tmp_path: Path,
    mode: str,
    available: bool,
    process: dict[str, str],
    preserve_env: bool = False,
    no_fallback: bool = False,
    fallback: str = "all",
) -> tuple[Resolution, FakeFetch]:
    (tmp_path / ".env").write_text(ENV_FILE, encoding="utf-8")
    fetch = FakeFetch(available)
    settings = build_settings(
        process, mode=mode, directory=tmp_path, preserve_env=preserve_env, no_fallback=no_fallback, fallback=fallback
    )
    return resolve(settings, process, fetch=fetch), fetch


def expected(
    mode: str, preserve_env: bool, available: bool, in_process: bool, variable: str, fallback: str = "all"
) -> tuple[str, str]:
    """(value, source kind) the rules give; kind "unset" when the child does not get the variable."""
    production = mode == "production"
    if variable == "MAPPED":
        if production and available and not (preserve_env and in_process):
            return "secret", "aws"
        if production and not available and not (preserve_env and in_process):
            if in_process:
                return "process", "fallback"  # standing in for the secret
            return ("file", "fallback") if fallback == "all" else ("", "unset")  # environment: files may not
        return ("process", "process") if in_process else ("file", "file")
    if in_process:  # a plain value in the environment replaces the file's reference before anything is fetched
        # ... and may stand in for a key of the mapped secret that failed (its keys are unknown)
        return ("process", "fallback") if production and not available and not preserve_env else ("process", "process")
    if not production:  # outside production a reference is a plain value
        return f"{ARN}:REFERENCED", "file"
    return ("secret", "aws") if available else ("", "unset")  # a reference's fallback is never itself


ROWS = list(itertools.product(["development", "test", "production"], [False, True], [True, False], [False, True]))


@pytest.mark.parametrize(("mode", "preserve_env", "available", "in_process"), ROWS)
@pytest.mark.parametrize("variable", ["MAPPED", "REFERENCED"])
@pytest.mark.parametrize("fallback", ["all", "environment"])
def test_the_priority_table(
    tmp_path: Path, mode: str, preserve_env: bool, available: bool, in_process: bool, variable: str, fallback: str
) -> None:
    process = {variable: "process"} if in_process else {}
    resolution, fetch = resolved(tmp_path, mode, available, process, preserve_env=preserve_env, fallback=fallback)
    value, kind = expected(mode, preserve_env, available, in_process, variable, fallback)
    binding = resolution.variables.get(variable)
    if kind == "unset":
        assert binding is None
    else:
        assert binding is not None
        assert (binding.value, str(binding.source).split(":", 1)[0]) == (value, kind)
    assert bool(fetch.calls) == (mode == "production")


@pytest.mark.parametrize("mode", ["development", "test"])
def test_outside_production_nothing_is_fetched_and_a_notice_says_so(tmp_path: Path, mode: str) -> None:
    resolution, fetch = resolved(tmp_path, mode, True, {})
    assert fetch.calls == []
    assert [n.event for n in resolution.notices] == ["secrets_skipped"]


def test_every_failure_gives_one_warning_naming_its_secret(tmp_path: Path) -> None:
    resolution, _ = resolved(tmp_path, "production", False, {})
    warnings = [n for n in resolution.notices if n.event == "secret_unavailable"]
    assert sorted(str(n.fields["secret_id"]) for n in warnings) == sorted(r.secret_id for r in SECRETS)


def test_with_fallback_off_any_failure_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailableError) as raised:
        resolved(tmp_path, "production", False, {}, no_fallback=True)
    assert raised.value.exit_code == 69


def test_a_secret_may_not_set_a_protected_name(tmp_path: Path) -> None:
    SECRETS[SecretRequest("app/mapped")] = '{"MAPPED": "secret", "LD_PRELOAD": "/tmp/x.so"}'
    try:
        resolution, _ = resolved(tmp_path, "production", True, {})
    finally:
        SECRETS[SecretRequest("app/mapped")] = '{"MAPPED": "secret"}'
    assert "LD_PRELOAD" not in resolution.variables
    assert [n.fields["variable"] for n in resolution.notices if n.event == "secret_key_refused"] == ["LD_PRELOAD"]


def test_the_resolution_cannot_be_changed_after_the_fact(tmp_path: Path) -> None:
    resolution, _ = resolved(tmp_path, "production", True, {})
    with pytest.raises(TypeError):
        resolution.variables["MAPPED"] = resolution.variables["MAPPED"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        resolution.notices.append(resolution.notices[0])  # type: ignore[attr-defined]


def test_a_failed_reference_falls_back_to_the_next_value_that_is_not_a_reference(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REFERENCED=plain\n", encoding="utf-8")
    process = {"REFERENCED": f"{ARN}:REFERENCED"}
    settings = build_settings(process, mode="production", directory=tmp_path)
    resolution = resolve(settings, process, fetch=FakeFetch(available=False))
    binding = resolution.variables["REFERENCED"]
    assert (binding.value, str(binding.source)) == ("plain", f"fallback:file:{tmp_path / '.env'}:1")


@pytest.mark.parametrize(("fallback", "expected_value"), [("all", "plain"), ("environment", None)])
def test_a_failed_reference_falls_back_to_an_env_file_value_only_with_fallback_all(
    tmp_path: Path, fallback: str, expected_value: str | None
) -> None:
    (tmp_path / ".env").write_text("REFERENCED=plain\n", encoding="utf-8")
    process = {"REFERENCED": f"{ARN}:REFERENCED"}
    settings = build_settings(process, mode="production", directory=tmp_path, fallback=fallback)
    resolution = resolve(settings, process, fetch=FakeFetch(available=False))
    binding = resolution.variables.get("REFERENCED")
    assert (binding.value if binding else None) == expected_value
    summary = next(n for n in resolution.notices if n.event == "fallback_in_use")
    assert summary.fields["variables"] == {"REFERENCED": f"fallback:file:{tmp_path / '.env'}:1" if binding else None}


@pytest.mark.parametrize(("available", "expected_value"), [(True, "secret"), (False, None)])
def test_preserve_env_resolves_a_reference_the_process_environment_holds(
    tmp_path: Path, available: bool, expected_value: str | None
) -> None:
    # --preserve-env keeps the process environment over secrets, but a reference there is still a reference:
    # the child gets the secret's value (or nothing), never the ARN.
    (tmp_path / ".env").write_text("", encoding="utf-8")
    process = {"REFERENCED": f"{ARN}:REFERENCED"}
    settings = build_settings(process, mode="production", directory=tmp_path, preserve_env=True)
    resolution = resolve(settings, process, fetch=FakeFetch(available))
    binding = resolution.variables.get("REFERENCED")
    assert (binding.value if binding else None) == expected_value


def test_two_mapped_secrets_defining_one_key_the_mapping_that_sorts_last_wins_with_a_warning(tmp_path: Path) -> None:
    # The file names B before A, and the fetch answers in file order: neither may decide.
    (tmp_path / ".env").write_text("AWS_SECRET_B=app/b\nAWS_SECRET_A=app/a\nAWS_SECRET_C=app/c\n", encoding="utf-8")
    answers = {"app/a": '{"SHARED": "a", "ONLY_A": "a"}', "app/b": '{"SHARED": "b"}', "app/c": '{"OTHER": "c"}'}

    def fetch(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        ordered = sorted(requests, key=lambda r: r.secret_id, reverse=True)
        return [FetchResult(r, FetchedSecret(r.secret_id, "v1", answers[r.secret_id]), 1.0) for r in ordered]

    settings = build_settings({}, mode="production", directory=tmp_path)
    resolution = resolve(settings, {}, fetch=fetch)
    assert resolution.environment()["SHARED"] == "b"  # AWS_SECRET_B sorts after AWS_SECRET_A
    assert str(resolution.variables["SHARED"].source) == "aws:app/b@v1"
    assert resolution.environment()["ONLY_A"] == "a"
    overlaps = [n for n in resolution.notices if n.event == "secret_key_overlap"]
    assert [(n.fields["variable"], n.fields["secret_id"]) for n in overlaps] == [("SHARED", "app/b")]
    assert "app/a" in overlaps[0].message
