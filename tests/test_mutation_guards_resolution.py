"""In-process statements of the newer rules of core/resolution.py (templates, the declared variables, the
Next.js mark, required variables, framework notices), so that `make mutate` can see a planted change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calitho_env.core.bindings import ComposedSource, FallbackSource, FileSource, SecretSource
from calitho_env.core.envfiles import MAX_VALUE_CHARS
from calitho_env.core.fetched import FetchFailure
from calitho_env.core.resolution import NEXT_ENV_FILES_LOADED, Declared, Resolution, resolve, stands_in_for
from calitho_env.core.secret_requests import SecretRequest
from calitho_env.core.settings import build_settings
from calitho_env.errors import (
    ConfigurationError,
    DeclaredVariablesMissingError,
    MissingVariablesError,
    SecretUnavailableError,
    TemplateError,
)
from tests.test_mutation_guards import Fetch, production

ARN = "arn:aws:secretsmanager:us-west-1:123456789012:secret:app/ref-AbCdEf"
SENTINEL = "s3nt1nel-Value"  # text of a value that no message may carry
DB = {"PASSWORD": "p@ss/w rd", "NAME": "main"}


def secret(keys: dict[str, str]) -> str:
    return json.dumps(keys)


def notice_events(resolution: Resolution) -> list[str]:
    return [n.event for n in resolution.notices]


# --- templates: which value the child gets ----------------------------------------------------------


def test_a_template_is_filled_from_its_mapped_secret_and_urlencoded_on_request(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nDATABASE_URL=pg://u:{{ DB.PASSWORD | urlencode }}@h/{{DB.NAME}}\nPLAIN=x\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)})
    url = resolution.variables["DATABASE_URL"]
    assert url.value == "pg://u:p%40ss%2Fw%20rd@h/main"
    assert url.name == "DATABASE_URL"
    assert isinstance(url.source, ComposedSource)
    assert str(url.source) == "composed:DB from aws:app/db@v1"  # which secret (and version) filled it
    assert isinstance(url.source.template, FileSource)
    assert Path(url.source.template.path).name == ".env"
    assert "DATABASE_URL" in resolution.injected
    assert resolution.environment()["DATABASE_URL"] == url.value
    assert resolution.variables["PLAIN"].value == "x"
    assert "template_unmapped" not in notice_events(resolution)


def test_a_process_environment_template_is_filled_too(tmp_path: Path) -> None:
    resolution, _ = production(
        tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret(DB)}, process={"DSN": "{{ DB.NAME }}-x"}
    )
    assert resolution.variables["DSN"].value == "main-x"
    assert isinstance(resolution.variables["DSN"].source, ComposedSource)


def test_a_filled_template_is_not_expanded_a_second_time(tmp_path: Path) -> None:
    keys = {"PASSWORD": "{{ DB.NAME }}", "NAME": "main"}
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\nURL={{ DB.PASSWORD }}\n", {"app/db": secret(keys)})
    assert resolution.variables["URL"].value == "{{ DB.NAME }}"
    # the secret's own key holding braces is passed on as it is: secret values are never looked into
    assert resolution.variables["PASSWORD"].value == "{{ DB.NAME }}"
    assert isinstance(resolution.variables["PASSWORD"].source, SecretSource)


def test_an_unmapped_template_is_left_as_it_is_with_a_warning(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nGO_TEMPLATE={{ OTHER.key }}\nJINJA={{ name }}\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)})
    assert resolution.variables["GO_TEMPLATE"].value == "{{ OTHER.key }}"
    assert resolution.variables["JINJA"].value == "{{ name }}"
    unmapped = [n for n in resolution.notices if n.event == "template_unmapped"]
    assert len(unmapped) == 1
    assert unmapped[0].level == "warning"
    assert unmapped[0].fields["variable"] == "GO_TEMPLATE"
    assert unmapped[0].fields["names"] == ["OTHER"]
    assert "AWS_SECRET_OTHER" in unmapped[0].message


def test_a_key_the_secret_lacks_names_variable_mapping_and_key_never_the_value(tmp_path: Path) -> None:
    env = f"AWS_SECRET_DB=app/db\nURL={SENTINEL}{{{{ DB.MISSING }}}}\n"
    with pytest.raises(TemplateError) as raised:
        production(tmp_path, env, {"app/db": secret(DB)})
    message = raised.value.message
    assert message.startswith("URL (")
    assert "app/db" in message
    assert "AWS_SECRET_DB" in message
    assert "'MISSING'" in message
    assert SENTINEL not in message + str(raised.value.hint)
    assert "p@ss" not in message + str(raised.value.hint)
    assert raised.value.hint is not None
    assert "AWS_SECRET_DB" in raised.value.hint  # where to look up the keys the secret has


@pytest.mark.parametrize("template", ["{{ DB }}", "{{ DB.NAME", "{{ DB.NAME | upper }}"])
def test_a_malformed_template_names_variable_and_mapping_never_the_value(tmp_path: Path, template: str) -> None:
    env = f"AWS_SECRET_DB=app/db\nURL={SENTINEL}{template}\n"
    with pytest.raises(TemplateError) as raised:
        production(tmp_path, env, {"app/db": secret(DB)})
    message = raised.value.message
    assert message.startswith("URL (")
    assert "malformed template of AWS_SECRET_DB" in message
    assert SENTINEL not in message + str(raised.value.hint)
    assert raised.value.hint is not None
    assert "{{ NAME.key }}" in raised.value.hint


def test_a_template_growing_past_one_mib_is_refused(tmp_path: Path) -> None:
    half = "x" * (MAX_VALUE_CHARS // 2 + 1)
    env = "AWS_SECRET_DB=app/db\nBIG={{ DB.HALF }}{{ DB.HALF }}\nFITS={{ DB.HALF }}\n"
    with pytest.raises(TemplateError) as raised:
        production(tmp_path, env, {"app/db": secret({"HALF": half})})
    assert raised.value.message.startswith("BIG (")
    assert "1 MiB" in raised.value.message
    assert half not in raised.value.message + str(raised.value.hint)
    assert raised.value.hint is not None


@pytest.mark.parametrize("fallback", ["all", "environment"])
def test_a_template_of_a_failed_secret_is_unset_when_nothing_lower_stands_in(tmp_path: Path, fallback: str) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\nURL=pg://{{ DB.NAME }}\n", {}, fallback=fallback)
    assert "URL" not in resolution.variables
    assert "URL" not in resolution.injected
    assert "URL" not in resolution.environment()
    assert "fallback_in_use" in notice_events(resolution)


def test_a_failed_secret_with_fallback_none_is_fatal_before_any_template(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailableError):
        production(tmp_path, "AWS_SECRET_DB=app/db\nURL=pg://{{ DB.NAME }}\n", {}, fallback="none")


def test_a_process_template_falls_back_to_the_env_file_only_with_fallback_all(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nURL=pg://file-value\n"
    process = {"URL": "pg://{{ DB.NAME }}"}
    resolution, _ = production(tmp_path, env, {}, fallback="all", process=dict(process))
    url = resolution.variables["URL"]
    assert url.value == "pg://file-value"
    assert url.name == "URL"
    assert isinstance(url.source, FallbackSource)
    assert url.source.secret_id == "app/db"
    assert isinstance(url.source.underlying, FileSource)
    withheld, _ = production(tmp_path, env, {}, fallback="environment", process=dict(process))
    assert "URL" not in withheld.variables


def test_a_template_of_a_secret_that_was_fetched_is_filled_though_another_failed(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nAWS_SECRET_GONE=app/gone\nURL={{ DB.NAME }}\nOTHER={{ GONE.X }}\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)}, fallback="all")
    assert resolution.variables["URL"].value == "main"
    assert "OTHER" not in resolution.variables


@pytest.mark.parametrize("mode", ["development", "test"])
def test_a_template_is_left_unset_where_nothing_is_fetched(tmp_path: Path, mode: str) -> None:
    (tmp_path / ".env").write_text("AWS_SECRET_DB=app/db\nURL=pg://{{ DB.NAME }}\nPLAIN=1\n", encoding="utf-8")
    fetch = Fetch({"app/db": secret(DB)})
    resolution = resolve(build_settings({}, mode=mode, directory=tmp_path), {}, fetch=fetch)
    assert fetch.timeouts == []
    assert "URL" not in resolution.variables
    assert "URL" not in resolution.injected
    assert "PLAIN" in resolution.injected
    unset = [n for n in resolution.notices if n.event == "template_unset"]
    assert len(unset) == 1
    assert unset[0].fields["variable"] == "URL"
    assert "AWS_SECRET_DB" in unset[0].message


def test_a_protected_name_may_not_be_composed_from_a_secret(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nNODE_OPTIONS=--require {{ DB.NAME }}\nLD_PRELOAD={{ DB.NAME }}\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)}, process={"LD_PRELOAD": "{{ DB.NAME }}"})
    assert "NODE_OPTIONS" not in resolution.variables
    assert "LD_PRELOAD" not in resolution.variables
    refused = {n.fields["variable"] for n in resolution.notices if n.event == "secret_key_refused"}
    assert {"NODE_OPTIONS", "LD_PRELOAD"} <= refused
    allowed, _ = production(tmp_path, env, {"app/db": secret(DB)}, allowed_keys=["NODE_OPTIONS"])
    assert allowed.variables["NODE_OPTIONS"].value == "--require main"


def test_a_protected_template_falls_back_as_a_failed_one_does_naming_its_secret(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nNODE_OPTIONS=--plain\n"
    process = {"NODE_OPTIONS": "{{ DB.NAME }}"}
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)}, fallback="all", process=process)
    options = resolution.variables["NODE_OPTIONS"]
    assert options.value == "--plain"
    assert isinstance(options.source, FallbackSource)
    assert options.source.secret_id == "app/db"
    refusal = next(n for n in resolution.notices if n.event == "secret_key_refused")
    assert refusal.fields == {"variable": "NODE_OPTIONS", "secret_id": "app/db", "hint": refusal.fields["hint"]}


@pytest.mark.parametrize(
    ("name", "answers"),
    [("URL", {}), ("NODE_OPTIONS", {"app/a": secret({"X": "1"}), "app/b": secret({"Y": "2"})})],
    ids=["both-failed", "protected"],
)
def test_a_fallback_for_a_template_of_two_secrets_stands_in_for_each(
    tmp_path: Path, name: str, answers: dict[str, str]
) -> None:
    env = f"AWS_SECRET_A=app/a\nAWS_SECRET_B=app/b\n{name}=plain\n"
    process = {name: "{{ A.X }}:{{ B.Y }}"}
    resolution, _ = production(tmp_path, env, answers, fallback="all", process=process)
    fallback = resolution.variables[name]
    assert fallback.value == "plain"
    assert isinstance(fallback.source, FallbackSource)
    assert fallback.source.secret_id == "app/a, app/b"
    assert stands_in_for(fallback, SecretRequest("app/a"))
    assert stands_in_for(fallback, SecretRequest("app/b"))


def test_every_template_is_handled_not_only_those_before_an_unmapped_or_unfilled_one(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nGO={{ OTHER.k }}\nFIRST={{ DB.NAME }}\nSECOND=x{{ DB.NAME }}\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)})
    assert resolution.variables["FIRST"].value == "main"
    assert resolution.variables["SECOND"].value == "xmain"
    (tmp_path / ".env").write_text(env, encoding="utf-8")
    development = resolve(build_settings({}, mode="development", directory=tmp_path), {}, fetch=Fetch({}))
    assert "FIRST" not in development.variables
    assert "SECOND" not in development.variables


def test_a_protected_name_keeps_its_process_value_that_is_no_template(tmp_path: Path) -> None:
    # the process value wins over the env file's template: nothing is composed, the value is the process's
    env = "AWS_SECRET_DB=app/db\nNODE_OPTIONS={{ DB.NAME }}\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)}, process={"NODE_OPTIONS": "--max-old=1"})
    assert resolution.variables["NODE_OPTIONS"].value == "--max-old=1"


# --- the declared variables (.env.example) ----------------------------------------------------------


def test_undeclared_secret_keys_are_left_out_in_production_only_and_only_secret_keys(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("DATABASE_URL=\nNAME\n", encoding="utf-8")
    env = "AWS_SECRET_DB=app/db\nFROM_FILE=kept\nPASSWORD=file-password\nDATABASE_URL=x\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(DB)}, process={"FROM_PROCESS": "kept"})
    assert resolution.variables["NAME"].value == "main"
    assert resolution.variables["FROM_FILE"].value == "kept"
    assert resolution.variables["FROM_PROCESS"].value == "kept"
    # the secret's undeclared key is left out, and the env-file value under it stays
    assert resolution.variables["PASSWORD"].value == "file-password"
    assert resolution.declared.left_out == ("PASSWORD",)
    assert "PASSWORD" in resolution.injected  # the env file's value
    assert resolution.declared.names == ("DATABASE_URL", "NAME")
    notice = next(n for n in resolution.notices if n.event == "undeclared_left_out")
    assert notice.level == "warning"
    assert notice.fields["variables"] == ["PASSWORD"]
    assert "p@ss" not in notice.message


def test_an_undeclared_secret_key_with_nothing_under_it_is_not_passed_on(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("NAME=\n", encoding="utf-8")
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret(DB)})
    assert "PASSWORD" not in resolution.variables
    assert "PASSWORD" not in resolution.environment()
    assert "PASSWORD" not in resolution.injected
    assert resolution.declared.left_out == ("PASSWORD",)


def test_without_an_example_every_key_is_passed_on(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret(DB)})
    assert resolution.variables["PASSWORD"].value == DB["PASSWORD"]
    assert resolution.declared.example is None
    assert "undeclared_left_out" not in notice_events(resolution)


def test_a_declared_variable_left_unset_names_the_secret_that_failed(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("NAME=\nPRESENT=\n", encoding="utf-8")
    with pytest.raises(DeclaredVariablesMissingError) as raised:
        production(tmp_path, "AWS_SECRET_DB=app/db\nPRESENT=\n", {})
    assert raised.value.names == ["NAME"]  # an empty value counts as set
    assert raised.value.message.startswith(f"declared in {tmp_path / '.env.example'} but not set: ")
    assert "NAME (secret app/db could not be fetched: AccessDeniedException)" in raised.value.message


def test_a_declared_reference_left_unset_names_its_secret(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("TOKEN=\n", encoding="utf-8")
    arn = "arn:aws:secretsmanager:us-west-1:123456789012:secret:app/ref-AbCdEf"
    with pytest.raises(DeclaredVariablesMissingError) as raised:
        production(tmp_path, f"TOKEN={arn}\n", {})
    assert f"TOKEN (secret {arn} could not be fetched: AccessDeniedException)" in raised.value.message


def test_a_declared_name_refused_as_protected_says_so(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("NODE_OPTIONS=\n", encoding="utf-8")
    with pytest.raises(DeclaredVariablesMissingError) as raised:
        production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret({"NODE_OPTIONS": "--x"})})
    assert "NODE_OPTIONS (secret app/db may not set it: a protected name)" in raised.value.message


def test_a_declared_name_unset_in_development_says_secrets_are_not_fetched(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AWS_SECRET_DB=app/db\n", encoding="utf-8")
    (tmp_path / ".env.example").write_text("NAME=\n", encoding="utf-8")
    settings = build_settings({}, mode="development", directory=tmp_path)
    with pytest.raises(DeclaredVariablesMissingError) as raised:
        resolve(settings, {}, fetch=Fetch({}))
    assert "NAME (secrets are not fetched in development)" in raised.value.message
    unchecked = resolve(settings, {}, fetch=Fetch({}), raise_unset=False)
    assert dict(unchecked.declared.unset) == {"NAME": "secrets are not fetched in development"}


@pytest.mark.parametrize("mode", ["production", "development"])
def test_a_declared_name_unset_without_any_secret_has_no_cause(tmp_path: Path, mode: str) -> None:
    (tmp_path / ".env.example").write_text("NAME=\n", encoding="utf-8")
    (tmp_path / ".env").write_text("OTHER=1\n", encoding="utf-8")
    resolution = resolve(build_settings({}, mode=mode, directory=tmp_path), {}, Fetch({}), raise_unset=False)
    assert dict(resolution.declared.unset) == {"NAME": None}
    assert resolution.declared.example == tmp_path / ".env.example"


def test_a_secret_that_explains_another_name_is_not_given_as_the_cause(tmp_path: Path) -> None:
    # a refused key and a failed reference explain their own names only
    (tmp_path / ".env.example").write_text("NAME=\n", encoding="utf-8")
    (tmp_path / ".env").write_text(f"TOKEN={ARN}\n", encoding="utf-8")
    resolution = resolve(build_settings({}, mode="production", directory=tmp_path), {}, Fetch({}), raise_unset=False)
    assert dict(resolution.declared.unset) == {"NAME": None}
    with pytest.raises(DeclaredVariablesMissingError) as raised:
        production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret({"NODE_OPTIONS": "x", "OTHER": "1"})})
    assert raised.value.message.endswith(": NAME")  # refused: NODE_OPTIONS, not NAME


def test_example_none_turns_the_declared_check_off_and_a_named_example_must_exist(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("NAME=\n", encoding="utf-8")
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret(DB)}, example="none")
    assert resolution.variables["PASSWORD"].value == DB["PASSWORD"]
    assert resolution.declared == Declared()
    with pytest.raises(ConfigurationError) as raised:
        production(tmp_path, "A=1\n", {}, example=str(tmp_path / "absent.example"))
    assert "absent.example does not exist" in raised.value.message


def test_only_upper_case_bare_lines_declare_a_name(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("NAME\nsome words\nPASSWORD=\n", encoding="utf-8")
    resolution, _ = production(tmp_path, "AWS_SECRET_DB=app/db\n", {"app/db": secret({**DB, "EXTRA": "e"})})
    assert resolution.declared.names == ("NAME", "PASSWORD")
    assert resolution.declared.left_out == ("EXTRA",)


# --- the Next.js mark -------------------------------------------------------------------------------


def test_the_next_mark_is_set_unless_the_environment_or_a_file_set_it(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "A=1\n", {})
    assert resolution.environment()[NEXT_ENV_FILES_LOADED] == "true"
    assert NEXT_ENV_FILES_LOADED not in resolution.variables
    from_file, _ = production(tmp_path, f"{NEXT_ENV_FILES_LOADED}=\n", {})
    assert from_file.environment()[NEXT_ENV_FILES_LOADED] == ""
    from_process, _ = production(tmp_path, "A=1\n", {}, process={NEXT_ENV_FILES_LOADED: "1"})
    assert from_process.environment()[NEXT_ENV_FILES_LOADED] == "1"
    assert from_process.environment()["A"] == "1"


# --- required variables -----------------------------------------------------------------------------


def test_a_required_variable_that_is_empty_counts_as_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingVariablesError) as raised:
        production(tmp_path, "EMPTY=\nSET=1\n", {}, required=["SET", "EMPTY", "ABSENT"])
    assert raised.value.names == ["EMPTY", "ABSENT"]
    production(tmp_path, "EMPTY=\nSET=1\n", {}, required=["SET"])  # no error


def test_a_required_variable_names_the_failed_mapped_secret_and_its_fix(tmp_path: Path) -> None:
    env = "AWS_SECRET_DB=app/db\nAWS_SECRET_OK=app/ok\n"
    with pytest.raises(MissingVariablesError) as raised:
        production(tmp_path, env, {"app/ok": secret({"X": "1"})}, required=["NAME", "X"])
    assert raised.value.names == ["NAME"]
    assert "NAME (not fetched, so perhaps a key of: secret app/db (AccessDeniedException))" in raised.value.message
    assert raised.value.hint == FetchFailure("AccessDeniedException", "denied").hint  # the failure's fix


def test_a_required_reference_names_its_own_secret(tmp_path: Path) -> None:
    arn = "arn:aws:secretsmanager:us-west-1:123456789012:secret:app/ref-AbCdEf"
    with pytest.raises(MissingVariablesError) as raised:
        production(tmp_path, f"TOKEN={arn}\n", {}, required=["TOKEN"])
    assert f"TOKEN (its secret {arn} could not be fetched: AccessDeniedException)" in raised.value.message


@pytest.mark.parametrize(
    ("env", "answers"), [("AWS_SECRET_DB=app/db\n", {"app/db": secret(DB)}), (f"TOKEN={ARN}\n", {})]
)
def test_a_required_variable_no_failed_secret_explains_has_the_plain_hint(
    tmp_path: Path, env: str, answers: dict[str, str]
) -> None:
    with pytest.raises(MissingVariablesError) as raised:
        production(tmp_path, env, answers, required=["ABSENT"])
    assert raised.value.message == "required variable(s) missing or empty: ABSENT"
    assert raised.value.hint == "define them in an env file, the environment, or a mapped secret"


# --- framework notices ------------------------------------------------------------------------------


def test_a_secret_value_under_a_public_prefix_is_warned_about_other_values_are_not(tmp_path: Path) -> None:
    keys = {"NEXT_PUBLIC_KEY": "k", "VITE_TOKEN": "t", "SERVER_ONLY": "s"}
    env = "AWS_SECRET_DB=app/db\nNEXT_PUBLIC_SITE=https://example.org\nPUBLIC_FROM_FILE=1\n"
    resolution, _ = production(tmp_path, env, {"app/db": secret(keys)}, process={"REACT_APP_X": "1"})
    public = [n for n in resolution.notices if n.event == "secret_in_public_name"]
    assert len(public) == 1
    assert public[0].level == "warning"
    assert public[0].fields["variables"] == ["NEXT_PUBLIC_KEY", "VITE_TOKEN"]
    assert public[0].message.startswith("NEXT_PUBLIC_KEY, VITE_TOKEN: ")
    assert "hint" in public[0].fields
    clean, _ = production(tmp_path, env, {"app/db": secret({"SERVER_ONLY": "s"})})
    assert "secret_in_public_name" not in notice_events(clean)


@pytest.mark.parametrize(
    ("node_env", "warned"), [("development", True), ("production", False), (" Production ", False)]
)
def test_node_env_in_a_file_is_warned_about_only_when_it_differs_from_the_mode(
    tmp_path: Path, node_env: str, warned: bool
) -> None:
    resolution, _ = production(tmp_path, f"NODE_ENV={node_env}\n", {})
    said = [n for n in resolution.notices if n.event == "node_env_from_file"]
    assert bool(said) is warned
    for notice in said:
        assert notice.level == "warning"
        assert notice.message.startswith("NODE_ENV from ")
        assert "production" in notice.message
        assert "hint" in notice.fields


def test_secrets_skipped_is_said_only_when_there_are_secrets_to_skip(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n", encoding="utf-8")
    plain = resolve(build_settings({}, mode="development", directory=tmp_path), {}, fetch=Fetch({}))
    assert "secrets_skipped" not in notice_events(plain)
    (tmp_path / ".env").write_text("AWS_SECRET_DB=app/db\n", encoding="utf-8")
    mapped = resolve(build_settings({}, mode="development", directory=tmp_path), {}, fetch=Fetch({}))
    skipped = next(n for n in mapped.notices if n.event == "secrets_skipped")
    assert skipped.level == "info"
    assert skipped.message == "1 secret mapping(s) not fetched: mode is development"


def test_an_unparsable_env_file_line_is_a_warning(tmp_path: Path) -> None:
    resolution, _ = production(tmp_path, "A=1\nthis is not a line\n", {})
    unparsable = [n for n in resolution.notices if n.event == "env_file_unparsable"]
    assert len(unparsable) == 1
    assert unparsable[0].level == "warning"
    assert unparsable[0].message


def test_node_env_from_the_process_environment_is_not_warned_about(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n", encoding="utf-8")
    process = {"NODE_ENV": "development", "CALITHO_ENV_MODE": "production"}
    resolution = resolve(build_settings(process, directory=tmp_path), process, fetch=Fetch({}))
    assert resolution.mode.mode.value == "production"
    assert "node_env_from_file" not in notice_events(resolution)
