"""In-process statements of the safety rules, so that `make mutate` (mutmut) can see a planted change.

The CLI tests run a fresh interpreter, which never loads a mutant; these call the rules directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from calitho_env.core.bindings import FallbackSource, is_protected
from calitho_env.core.fetched import FetchedSecret, FetchFailure, FetchResult
from calitho_env.core.resolution import Resolution, resolve, stands_in_for
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.core.settings import build_settings
from calitho_env.errors import MissingVariablesError, SecretUnavailableError
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
        ("A-B/C", "it contains '-' and '/'"),
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
    assert SecretSource("app/db", None).short() == "aws:app/db"
    assert str(SecretSource("/p/x", "3", "ssm")) == "ssm:/p/x@3"
    assert SecretSource("/p/x", "3", "ssm").short() == "ssm:/p/x@3"
    assert str(SecretSource("app/db", "v1", replica_region="us-east-2")) == "aws:app/db@v1 (replica us-east-2)"


# --- resolution: which value the child gets ----------------------------------------------------

ARN = "arn:aws:secretsmanager:us-west-1:123456789012:secret:app/ref-AbCdEf"


class Fetch:
    """Answers each secret id from `answers` (a SecretString), or fails it when absent; records the timeout."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.timeouts: list[float] = []

    def __call__(self, requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        self.timeouts.append(timeout)
        return [
            FetchResult(r, FetchedSecret(r.secret_id, "v1", self.answers[r.secret_id]), 1.0)
            if r.secret_id in self.answers
            else FetchResult(r, FetchFailure("AccessDeniedException", "denied"), 1.0)
            for r in requests
        ]


def production(tmp_path: Path, env_file: str, answers: dict[str, str], **options: Any) -> tuple[Resolution, Fetch]:
    (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    process = options.pop("process", {})
    fetch = Fetch(answers)
    settings = build_settings(process, mode="production", directory=tmp_path, **options)
    return resolve(settings, process, fetch=fetch), fetch


def test_the_fetch_gets_the_timeout_of_the_settings(tmp_path: Path) -> None:
    _, fetch = production(tmp_path, "AWS_SECRET_A=app/a\n", {"app/a": "{}"}, timeout=7.5)
    assert fetch.timeouts == [7.5]


def test_a_failed_mapping_does_not_stop_the_mappings_after_it(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\n", {"app/b": '{"B": "b"}'})
    assert resolution.environment()["B"] == "b"


def test_a_refused_key_does_not_stop_the_keys_after_it_and_allow_key_accepts_it(tmp_path: Path) -> None:
    answers = {"app/a": '{"LD_PRELOAD": "x.so", "AFTER": "a"}'}
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\n", answers)
    assert "LD_PRELOAD" not in resolution.variables
    assert resolution.environment()["AFTER"] == "a"
    (refusal,) = [n for n in resolution.notices if n.event == "secret_key_refused"]
    assert refusal.fields == {
        "variable": "LD_PRELOAD",
        "secret_id": "app/a",
        "hint": "--allow-key LD_PRELOAD accepts it on purpose",
    }
    assert "secret app/a may not set LD_PRELOAD" in refusal.message
    allowed, _ = production(tmp_path, "AWS_SECRET_A=app/a\n", answers, allowed_keys=["LD_PRELOAD"])
    assert allowed.environment()["LD_PRELOAD"] == "x.so"


def test_every_binding_carries_its_own_name_and_source(tmp_path: Path) -> None:
    env_file = f"AWS_SECRET_A=app/a\nREF={ARN}:REF\nPLAIN=p\n"
    resolution, _ = production(tmp_path, env_file, {"app/a": '{"A": "a"}', ARN: '{"REF": "r"}'})
    assert all(binding.name == name for name, binding in resolution.variables.items())
    assert str(resolution.variables["A"].source) == "aws:app/a@v1"
    assert str(resolution.variables["REF"].source) == f"aws:{ARN}@v1"


def test_every_reference_is_resolved_not_only_the_first(tmp_path: Path) -> None:
    env_file = f"FIRST={ARN}:FIRST\nSECOND={ARN}:SECOND\nTHIRD={ARN}:THIRD\n"
    resolution, _ = production(tmp_path, env_file, {ARN: '{"FIRST": "1", "SECOND": "2", "THIRD": "3"}'})
    assert {n: resolution.environment()[n] for n in ("FIRST", "SECOND", "THIRD")} == {
        "FIRST": "1",
        "SECOND": "2",
        "THIRD": "3",
    }


def test_a_reference_to_a_protected_name_is_refused_and_after_it_the_others_resolve(tmp_path: Path) -> None:
    env_file = f"NODE_OPTIONS={ARN}:NODE_OPTIONS\nZ_LAST={ARN}:Z_LAST\n"
    answers = {ARN: '{"NODE_OPTIONS": "--require /tmp/x.js", "Z_LAST": "z"}'}
    resolution, _ = production(tmp_path, env_file, answers)
    assert "NODE_OPTIONS" not in resolution.variables
    assert resolution.environment()["Z_LAST"] == "z"
    (refusal,) = [n for n in resolution.notices if n.event == "secret_key_refused"]
    assert (refusal.fields["variable"], refusal.fields["secret_id"]) == ("NODE_OPTIONS", ARN)
    allowed, _ = production(tmp_path, env_file, answers, allowed_keys=["NODE_OPTIONS"])
    assert allowed.environment()["NODE_OPTIONS"] == "--require /tmp/x.js"


def test_a_key_a_mapped_secret_set_is_not_replaced_by_a_stand_in_for_another_that_failed(tmp_path: Path) -> None:
    resolution, _ = production(
        tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\nX=file\n", {"app/a": '{"X": "secret"}'}
    )
    assert (resolution.environment()["X"], str(resolution.variables["X"].source)) == ("secret", "aws:app/a@v1")


def test_a_mapped_key_wins_over_an_env_file_reference_of_the_same_name(tmp_path: Path) -> None:
    # The mapped secret replaces the file's reference value below, so no reference stands any more.
    env_file = f"AWS_SECRET_A=app/a\nX={ARN}:X\n"
    resolution, _ = production(tmp_path, env_file, {"app/a": '{"X": "mapped"}', ARN: '{"X": "referenced"}'})
    assert resolution.environment()["X"] == "mapped"


@pytest.mark.parametrize("fallback", ["all", "environment"])
def test_launcher_settings_never_stand_in_for_a_failed_mapping(tmp_path: Path, fallback: str) -> None:
    env_file = (
        "AWS_SECRET_A=app/a\nAWS_SECRET_OFF=\nAWS_REGION=us-west-1\nCALITHO_ENV_REQUIRE=\nNODE_ENV=production\n"
        f"REF={ARN}:REF\nDATABASE_URL=postgres://file\n"
    )
    resolution, _ = production(tmp_path, env_file, {ARN: '{"REF": "r"}'}, fallback=fallback)
    for name in ("AWS_SECRET_OFF", "AWS_REGION", "CALITHO_ENV_REQUIRE", "NODE_ENV"):
        assert str(resolution.variables[name].source).startswith("file:"), name  # kept as they are, never withheld
    assert str(resolution.variables["REF"].source) == f"aws:{ARN}@v1"
    summary = next(n for n in resolution.notices if n.event == "fallback_in_use")
    stand_in = f"fallback:file:{tmp_path / '.env'}:7" if fallback == "all" else None
    assert summary.fields["variables"] == {"DATABASE_URL": stand_in}
    assert summary.message.startswith("1 variable(s) running on fallback values: DATABASE_URL ")
    if fallback == "environment":
        assert "env files may not stand in (--fallback environment)" in summary.message


def test_a_stand_in_names_the_failed_secrets_and_its_own_source(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\nX=file\n", {}, process={"Y": "p"})
    x = resolution.variables["X"]
    assert isinstance(x.source, FallbackSource)
    assert (x.source.secret_id, str(x.source.underlying)) == ("app/a, app/b", f"file:{tmp_path / '.env'}:3")
    assert stands_in_for(x, SecretRequest("app/b"))
    assert not stands_in_for(x, SecretRequest("app/c"))
    assert not stands_in_for(resolution.variables["Y"], SecretRequest("app/a"))


def test_a_failed_references_stand_in_names_its_secret(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REF=plain\n", encoding="utf-8")
    process = {"REF": f"{ARN}:REF"}
    settings = build_settings(process, mode="production", directory=tmp_path)
    resolution = resolve(settings, process, fetch=Fetch({}))
    ref = resolution.variables["REF"]
    assert ref.name == "REF"
    assert stands_in_for(ref, SecretRequest(ARN, region="us-west-1"))


def test_no_failover_notice_without_a_failover(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\n", {"app/a": "{}"})
    assert [n for n in resolution.notices if n.event == "region_failover"] == []


def test_a_production_resolution_keeps_the_env_files_warnings(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\nnot a line\n", {"app/a": "{}"})
    assert "env_file_unparsable" in [n.event for n in resolution.notices]


def test_what_print_shows_is_what_files_mappings_and_references_define(tmp_path: Path) -> None:
    env_file = f"AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\nREF={ARN}:REF\nPLAIN=p\n"
    resolution, _ = production(tmp_path, env_file, {"app/a": '{"A": "a"}'}, process={"OTHER": "o"})
    assert set(resolution.injected) == {"AWS_SECRET_A", "AWS_SECRET_B", "PLAIN", "A"}  # REF failed: unset
    assert resolution.files_read == (tmp_path / ".env",)
    assert [m.variable for m in resolution.mappings] == ["AWS_SECRET_A", "AWS_SECRET_B"]
    assert [r.variable for r in resolution.references] == ["REF"]
    assert len(resolution.fetches) == 3
    assert resolution.mode.mode.value == "production"


@pytest.mark.parametrize(("process", "missing"), [({}, ["NEED"]), ({"NEED": ""}, ["NEED"]), ({"NEED": "x"}, [])])
def test_a_required_variable_must_be_set_and_not_empty(
    tmp_path: Path, process: dict[str, str], missing: list[str]
) -> None:
    settings = build_settings(process, mode="development", directory=tmp_path, required=["NEED"])
    if not missing:
        assert resolve(settings, process, Fetch({})).environment()["NEED"] == "x"
        return
    with pytest.raises(MissingVariablesError) as raised:
        resolve(settings, process, Fetch({}))
    assert "NEED" in raised.value.message
    assert raised.value.exit_code == 78


def test_with_fallback_off_the_error_names_every_failed_secret_and_the_switch(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailableError) as raised:
        production(tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\n", {}, no_fallback=True)
    message = raised.value.message
    failed = "secret app/{} could not be fetched (AccessDeniedException)"
    assert message == f"{failed.format('a')}; {failed.format('b')}"
    assert raised.value.hint is not None
    assert raised.value.hint.endswith(" (fallback is off: --fallback none / --no-fallback)")


# --- what is a mapping, a reference, and what a fetched secret gives -----------------------------


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("AWS_SECRET_DATABASE", True),
        ("AWS_SSM_PATH_APP", True),
        ("AWS_SECRET_ACCESS_KEY", False),
        ("AWS_SECRET_ACCESS_KEY_OLD", False),
        ("AWS_SECRET_KEY", False),
        ("DATABASE_URL", False),
    ],
)
def test_which_names_are_mappings(name: str, mapping: bool) -> None:
    from calitho_env.core.secret_requests import is_mapping_name

    assert is_mapping_name(name) is mapping


@pytest.mark.parametrize(
    ("value", "reference"),
    [
        ("arn:aws:secretsmanager:us-west-1:123456789012:secret:app", True),
        ("arn:aws:ssm:us-west-1:123456789012:parameter/app/db", True),
        ("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:app", True),
        ("arn:aws:s3:::bucket/key", False),
        ("arn:aws:iam::123456789012:role/secretsmanager", False),
        ("arn:aws:sqs:us-west-1:123456789012:secretsmanager", False),
        ("postgres://arn:aws:secretsmanager@db", False),
    ],
)
def test_which_values_are_references(value: str, reference: bool) -> None:
    from calitho_env.core.secret_requests import is_reference

    assert is_reference(value) is reference


@pytest.mark.parametrize(
    ("name", "may"), [("TOKEN", True), ("DB_SECRET_ARN", False), ("AWS_SECRET_DB", False), ("ARN_OF_DB", True)]
)
def test_a_name_ending_in_arn_or_a_mapping_is_never_a_reference(name: str, may: bool) -> None:
    from calitho_env.core.secret_requests import may_be_reference

    assert may_be_reference(name) is may


@pytest.mark.parametrize(
    ("text", "kind"), [("not json", "a plain string"), ("[1]", "a JSON array"), ('"s"', "a JSON string")]
)
def test_a_mapped_secret_that_is_no_json_object_is_a_configuration_error_saying_what_it_is(
    text: str, kind: str
) -> None:
    from calitho_env.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        FetchedSecret("app/a", "v1", text).variables()
    assert raised.value.message == f"secret app/a is {kind}, not a JSON object"


def test_a_mapped_secret_gives_every_key_but_nulls_in_json_text() -> None:
    secret = FetchedSecret("app/a", "v1", '{"S": "x", "N": 1.50, "B": true, "NULL": null, "O": {"k": [1, 2]}}')
    assert secret.variables() == {"S": "x", "N": "1.50", "B": "true", "O": '{"k":[1,2]}'}


def test_a_reference_gives_the_whole_string_or_one_key() -> None:
    from calitho_env.errors import ConfigurationError

    secret = FetchedSecret("app/a", "v1", '{"K": "v", "NULL": null}')
    assert secret.referenced_value(None, "WHOLE") == '{"K": "v", "NULL": null}'
    assert secret.referenced_value("K", "ONE") == "v"
    for missing in ("MISSING", "NULL"):
        with pytest.raises(ConfigurationError) as raised:
            secret.referenced_value(missing, "X")
        assert raised.value.message == f"X (reference to app/a): the secret has no key {missing!r}"
    with pytest.raises(ConfigurationError) as raised:
        FetchedSecret("app/a", "v1", "plain").referenced_value("K", "X")
    assert "not a JSON object" in raised.value.message


# --- print: masking and what docker cannot carry -------------------------------------------------


def test_a_masked_value_is_stars_and_an_empty_one_stays_empty() -> None:
    from calitho_env.core.formats import MASK, masked

    assert (masked("hunter2"), masked("")) == (MASK, "")
    assert MASK == "********"


def test_the_table_masks_values_but_shows_a_mappings_secret_id_unless_mask() -> None:
    from calitho_env.core.bindings import PROCESS, Binding, FileSource
    from calitho_env.core.formats import render

    bindings = [
        Binding("AWS_SECRET_DB", "app/db", FileSource(".env", 1)),
        Binding("TOKEN", "hunter2", PROCESS),
        Binding("EMPTY", "", PROCESS),
    ]
    rows = [line.split() for line in render(bindings, "table", mask=False).splitlines()]
    assert rows == [
        ["NAME", "SOURCE", "VALUE"],
        ["AWS_SECRET_DB", "file:.env:1", "app/db"],
        ["TOKEN", "process", "********"],
        ["EMPTY", "process"],
    ]
    assert "app/db" not in render(bindings, "table", mask=True)


@pytest.mark.parametrize(
    ("value", "reason"), [("a\nb", "a line break"), ("a\rb", "a line break"), ("a\udcffb", "bytes that are not UTF-8")]
)
def test_docker_refuses_what_its_env_file_cannot_carry_naming_the_variable_only(value: str, reason: str) -> None:
    from calitho_env.core.formats import docker_value
    from calitho_env.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        docker_value("KEY", value)
    assert raised.value.message == f"the value of KEY holds {reason}, which docker and kubectl env files cannot carry"
    assert raised.value.hint == "use --format json (e.g. kubectl create secret generic --from-file) for this variable"
    assert docker_value("KEY", "a b='c'#d") == "a b='c'#d"


# --- more survivors of make mutate, killed --------------------------------------------------------


@pytest.mark.parametrize("no_references", [True, False])
def test_no_references_passes_an_arn_as_it_is_and_fetches_nothing(tmp_path: Path, no_references: bool) -> None:
    resolution, fetch = production(tmp_path, f"REF={ARN}:REF\n", {ARN: '{"REF": "r"}'}, no_references=no_references)
    assert resolution.environment()["REF"] == (f"{ARN}:REF" if no_references else "r")
    assert (fetch.timeouts == []) is no_references
    assert (resolution.references == ()) is no_references


def test_outside_production_a_reference_is_not_even_looked_for(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"REF={ARN}:REF\n", encoding="utf-8")
    fetch = Fetch({})
    resolution = resolve(build_settings({}, mode="development", directory=tmp_path), {}, fetch)
    assert fetch.timeouts == []  # development asks for nothing
    assert (resolution.references, resolution.fetches) == ((), ())
    assert resolution.files_missing == tuple(
        tmp_path / name for name in (".env.development.local", ".env.local", ".env.development")
    )


def test_a_reference_after_one_a_mapped_key_replaced_still_resolves(tmp_path: Path) -> None:
    env_file = f"AWS_SECRET_A=app/a\nA_FIRST={ARN}:X\nZ_LAST={ARN}:Z_LAST\n"
    resolution, _ = production(tmp_path, env_file, {"app/a": '{"A_FIRST": "mapped"}', ARN: '{"Z_LAST": "z"}'})
    assert (resolution.environment()["A_FIRST"], resolution.environment()["Z_LAST"]) == ("mapped", "z")


def test_a_process_value_standing_in_says_it_comes_from_the_process(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\nY=file\n", {}, process={"Y": "p"})
    y = resolution.variables["Y"]
    assert (y.value, str(y.source)) == ("p", "fallback:process")
    assert stands_in_for(y, SecretRequest("app/a"))
    assert stands_in_for(y, SecretRequest("app/b"))
    assert all(binding.name == name for name, binding in resolution.variables.items())


def test_a_failover_is_one_warning_for_the_secret_that_was_read_in_the_replica(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\n", encoding="utf-8")

    def fetch(requests: Sequence[SecretRequest], timeout: float) -> list[FetchResult]:
        failovers = (("us-west-1", "InternalServiceError"),)
        read = FetchResult(requests[0], FetchedSecret("app/a", "v1", "{}"), 1.0, failovers, "us-east-2")
        failed = FetchResult(requests[1], FetchFailure("InternalServiceError", "down"), 1.0, failovers, "us-east-2")
        return [read, failed]

    resolution = resolve(build_settings({}, mode="production", directory=tmp_path), {}, fetch=fetch)
    (failover,) = [n for n in resolution.notices if n.event == "region_failover"]
    assert failover.fields == {"secret_id": "app/a", "failed_regions": ["us-west-1"], "region": "us-east-2"}


def test_with_fallback_all_an_unset_reference_does_not_blame_fallback_environment(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, f"REF={ARN}:REF\n", {})
    summary = next(n for n in resolution.notices if n.event == "fallback_in_use")
    assert summary.message == "1 variable(s) running on fallback values: REF unset"


def test_used_by_lists_each_secret_once_with_the_variables_that_ask_for_it(tmp_path: Path) -> None:
    from calitho_env.core.resolution import read_configuration

    (tmp_path / ".env").write_text(f"AWS_SECRET_A=app/a\nONE={ARN}:ONE\nTWO={ARN}:TWO\n", encoding="utf-8")
    settings = build_settings({}, mode="production", directory=tmp_path)
    used_by = read_configuration(settings, {}).used_by()
    assert {request.secret_id: names for request, names in used_by.items()} == {
        "app/a": ["AWS_SECRET_A"],
        ARN: ["ONE", "TWO"],
    }
