"""In-process statements of the value and parsing rules, so that `make mutate` (mutmut) sees a planted change:
how a secret's JSON becomes variables, what a reference gives, and which ids, ARNs and names are taken.

Every failure here also asserts that the message never carries the value (SENTINEL).
"""

from __future__ import annotations

import pytest

from calitho_env.core.bindings import Binding, FileSource, SecretSource
from calitho_env.core.fetched import FetchedSecret, FetchFailure, hint_for
from calitho_env.core.secret_requests import (
    PARAMETER,
    PATH,
    SecretMapping,
    SecretReference,
    SecretRequest,
    find_mappings,
    find_references,
    is_managed_secret,
    is_parameter_arn,
    is_reference,
    parse_secret_id,
)
from calitho_env.errors import ConfigurationError
from tests.harness import SENTINEL

REGION, ACCOUNT = "us-east-1", "123456789012"
BASE = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-AbCdEf"
PARAMETER_BASE = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/"
VERSION_ID = "0123456789abcdef0123456789abcdef"  # 32 characters, the shortest a version id may be


def variables_of(text: str | None, secret_id: str = "app/a") -> dict[str, str]:
    return FetchedSecret(secret_id, "v1", text).variables()


def refused(text: str | None) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as raised:
        variables_of(text)
    assert SENTINEL not in raised.value.message
    assert SENTINEL not in (raised.value.hint or "")
    return raised.value


# --- a mapped secret's JSON object becomes variables ------------------------------------------


def test_strings_are_given_as_they_are() -> None:
    text = '{"A": "x y", "B": "", "C": "line\\nnext\\ttab", "D": "caf\\u00e9 \\"q\\" \\\\"}'
    assert variables_of(text) == {"A": "x y", "B": "", "C": "line\nnext\ttab", "D": 'café "q" \\'}


@pytest.mark.parametrize(
    "number", ["0", "-0", "1.50", "2.0", "1e400", "-1E-7", "1E+2", "12345678901234567890123", "9" * 5000]
)
def test_a_number_is_its_exact_json_text(number: str) -> None:
    assert variables_of(f'{{"N": {number}}}') == {"N": number}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_constant_json_reads_is_given_as_written(constant: str) -> None:
    assert variables_of(f'{{"N": {constant}}}') == {"N": constant}


def test_booleans_are_true_and_false_and_a_null_key_is_skipped() -> None:
    assert variables_of('{"T": true, "NULL": null, "F": false}') == {"T": "true", "F": "false"}


def test_every_key_is_given_in_the_secrets_order() -> None:
    found = variables_of('{"Z": "1", "A": "2", "M": "3"}')
    assert list(found) == ["Z", "A", "M"]


def test_arrays_and_objects_are_compact_json_with_numbers_as_written_at_every_depth() -> None:
    text = (
        '{"O": {"n": 1.50, "big": 1e400, "k": [1, -0.0, 2E3], "t": true, "f": false, "z": null, '
        '"s": "caf\\u00e9 \\"q\\"", "e": {}, "a": []},'
        ' "L": [[], {}, [1.0, [2.50]], {"x": {"y": 10}}, "s", null, true, false],'
        ' "E": [], "EO": {}}'
    )
    assert variables_of(text) == {
        "O": '{"n":1.50,"big":1e400,"k":[1,-0.0,2E3],"t":true,"f":false,"z":null,"s":"café \\"q\\"","e":{},"a":[]}',
        "L": '[[],{},[1.0,[2.50]],{"x":{"y":10}},"s",null,true,false]',
        "E": "[]",
        "EO": "{}",
    }


def test_a_key_of_a_nested_object_is_written_as_json_text() -> None:
    assert variables_of('{"O": {"a \\"b\\"\\n": 1, "\\u00e9": "x"}}') == {"O": '{"a \\"b\\"\\n":1,"é":"x"}'}


def test_whatever_depth_json_reads_is_written_out_whole() -> None:
    depth = 900
    nested = "[" * depth + "1" + "]" * depth
    assert variables_of(f'{{"D": {nested}, "N": {{"a": {nested}}}}}') == {"D": nested, "N": f'{{"a":{nested}}}'}


def test_a_secret_nested_too_deeply_to_read_is_refused_naming_the_secret() -> None:
    error = refused('{"D": ' + "[" * 200_000 + f'"{SENTINEL}"' + "]" * 200_000 + "}")
    assert error.message == "secret app/a is nested too deeply to read"
    assert error.hint == "store a flat JSON object of strings"


@pytest.mark.parametrize(
    "value", ['"\\ud800"', f'"{SENTINEL}\\udfff"', f'["{SENTINEL}", "\\ud800"]', '{"k": {"\\udc00": 1}}']
)
def test_a_lone_surrogate_anywhere_in_a_value_is_refused_naming_the_secret(value: str) -> None:
    error = refused(f'{{"OK": "fine", "K": {value}}}')
    assert error.message == "secret app/a: a value holds a lone UTF-16 surrogate, which no environment can carry"
    assert error.hint == "fix the value's \\u escapes at its source"


def test_a_surrogate_pair_is_one_character_and_carried() -> None:
    assert variables_of('{"K": "\\ud83d\\ude00", "O": ["\\ud83d\\ude00"]}') == {
        "K": "\U0001f600",
        "O": '["\U0001f600"]',
    }


def test_a_nul_in_a_value_is_refused_naming_the_key() -> None:
    error = refused(f'{{"TOKEN": "{SENTINEL}\\u0000"}}')
    assert error.message == "secret app/a: the value of TOKEN contains a NUL character"


@pytest.mark.parametrize(
    ("key", "said"),
    [("bad-key", "'bad-key'"), ("1ABC", "'1ABC'"), ("é" * 3, "of 3 characters (it contains U+00E9)")],
)
def test_a_key_that_is_no_variable_name_is_refused_naming_or_describing_it(key: str, said: str) -> None:
    error = refused(f'{{"GOOD": "x", "{key}": "{SENTINEL}"}}')
    assert error.message == f"secret app/a: the key {said} is not a variable name"
    assert error.hint == (
        "rename the key in the secret: each key of its JSON object becomes a variable, so it must "
        "match [A-Za-z_][A-Za-z0-9_]* (e.g. DATABASE_URL)"
    )


def test_a_null_under_a_bad_key_is_skipped_before_the_key_is_judged() -> None:
    assert variables_of('{"bad-key": null, "A": "1"}') == {"A": "1"}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("5", "a JSON number"),
        ("1.50", "a JSON number"),
        ("NaN", "a JSON number"),
        ("true", "a JSON boolean"),
        ("false", "a JSON boolean"),
        ("null", "a JSON null"),
        ("[1]", "a JSON array"),
        ("[]", "a JSON array"),
    ],
)
def test_a_secret_of_another_json_shape_is_described_without_the_whole_string_advice(text: str, kind: str) -> None:
    error = refused(text)
    assert error.message == f"secret app/a is {kind}, not a JSON object"
    assert error.hint == 'store it as {"NAME": "value", ...}, the shape `setup` creates'


@pytest.mark.parametrize(("text", "kind"), [(SENTINEL, "a plain string"), (f'"{SENTINEL}"', "a JSON string")])
def test_a_string_secret_is_described_and_pointed_at_a_reference(text: str, kind: str) -> None:
    error = refused(text)
    assert error.message == f"secret app/a is {kind}, not a JSON object"
    assert error.hint == (
        'store it as {"NAME": "value", ...}, the shape `setup` creates; or, to use the whole SecretString as one '
        "variable, reference it instead of mapping it: NAME=<the secret's ARN> in an env file"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f'{{"A": "{SENTINEL}", }}', "Expecting property name enclosed in double quotes at line 1, column 26"),
        (f'  \n{{"A": "{SENTINEL}"', "Expecting ',' delimiter at line 2, column 24"),
        (f'[1, "{SENTINEL}"', "Expecting ',' delimiter at line 1, column 22"),
        (f'{{"A": "{SENTINEL}\tx"}}', "Invalid control character at line 1, column 23"),
    ],
)
def test_malformed_json_is_located_never_quoted(text: str, where: str) -> None:
    error = refused(text)
    assert error.message == f"secret app/a holds malformed JSON: {where}"
    assert error.hint == 'fix the JSON at that place; the secret must be one object, {"NAME": "value", ...}'


def test_a_binary_secret_is_refused_as_binary() -> None:
    error = refused(None)
    assert error.message == "secret app/a is binary (SecretBinary), not a JSON object"
    assert error.hint == "store the secret as a JSON object in SecretString"


# --- a reference: the whole SecretString or one key -----------------------------------------------


def reference_refused(secret: FetchedSecret, json_key: str | None, variable: str = "X") -> ConfigurationError:
    with pytest.raises(ConfigurationError) as raised:
        secret.referenced_value(json_key, variable)
    assert SENTINEL not in raised.value.message
    assert SENTINEL not in (raised.value.hint or "")
    return raised.value


@pytest.mark.parametrize("text", [f" {SENTINEL} \n", f'{{"K": 1.50, "S": "{SENTINEL}"}}', "", "null", '"q"'])
def test_a_reference_without_a_key_is_the_whole_secret_string_as_stored(text: str) -> None:
    assert FetchedSecret("app/a", "v1", text).referenced_value(None, "WHOLE") == text


def test_a_reference_with_a_key_renders_that_keys_value() -> None:
    secret = FetchedSecret("app/a", "v1", '{"S": "x y", "N": 1.50, "B": false, "O": {"a": [1e400, null]}}')
    assert secret.referenced_value("S", "X") == "x y"
    assert secret.referenced_value("N", "X") == "1.50"
    assert secret.referenced_value("B", "X") == "false"
    assert secret.referenced_value("O", "X") == '{"a":[1e400,null]}'


@pytest.mark.parametrize("missing", ["MISSING", "NULL", "s"])
def test_a_missing_or_null_key_names_the_key_never_a_value(missing: str) -> None:
    error = reference_refused(FetchedSecret("app/a", "v1", f'{{"S": "{SENTINEL}", "NULL": null}}'), missing)
    assert error.message == f"X (reference to app/a): the secret has no key {missing!r}"
    assert error.hint == "check the json-key part of the ARN"


@pytest.mark.parametrize("text", [SENTINEL, f'["{SENTINEL}"]', f'"{SENTINEL}"'])
def test_a_key_of_a_secret_that_is_no_object_is_refused(text: str) -> None:
    error = reference_refused(FetchedSecret("app/a", "v1", text), "K")
    assert error.message == "X (reference to app/a): the secret is not a JSON object, so it has no key 'K'"


def test_a_binary_secret_cannot_be_referenced_whole_or_by_key() -> None:
    error = reference_refused(FetchedSecret("app/a", "v1", None), None)
    assert error.message == "X (reference to app/a): the secret is binary"
    assert error.hint == "store the value in SecretString"
    error = reference_refused(FetchedSecret("app/a", "v1", None), "K")
    assert error.message == "secret app/a is binary (SecretBinary), not a JSON object"


def test_a_referenced_value_with_a_nul_or_a_lone_surrogate_is_refused_naming_the_variable() -> None:
    error = reference_refused(FetchedSecret("app/a", "v1", f"{SENTINEL}\x00"), None, "TOKEN")
    assert error.message == "TOKEN (reference to app/a): the value of TOKEN contains a NUL character"
    error = reference_refused(FetchedSecret("app/a", "v1", f"{SENTINEL}\ud800"), None, "TOKEN")
    assert error.message == (
        "TOKEN (reference to app/a): a value holds a lone UTF-16 surrogate, which no environment can carry"
    )
    error = reference_refused(FetchedSecret("app/a", "v1", f'{{"K": "{SENTINEL}\\ud800"}}'), "K", "TOKEN")
    assert error.message == (
        "TOKEN (reference to app/a): a value holds a lone UTF-16 surrogate, which no environment can carry"
    )
    error = reference_refused(FetchedSecret("app/a", "v1", f'{{"K": "{SENTINEL}\\u0000"}}'), "K", "TOKEN")
    assert error.message == "TOKEN (reference to app/a): the value of TOKEN contains a NUL character"


def test_a_request_names_its_kind_for_a_sentence() -> None:
    assert SecretRequest("app/a").named() == "secret app/a"
    assert SecretRequest("app/a", version_stage="AWSPREVIOUS").named() == "secret app/a (AWSPREVIOUS)"
    assert SecretRequest("/p/x", kind=PARAMETER).named() == "parameter /p/x"
    assert SecretRequest("/p/", kind=PATH).named() == "parameter path /p/"


def test_a_fetched_secrets_source_is_its_id_version_service_and_replica() -> None:
    secret = FetchedSecret("/p/x", "7", "{}", "ssm", "eu-west-1")
    assert secret.source_of("ANY") == SecretSource("/p/x", "7", "ssm", "eu-west-1")
    assert FetchedSecret("app/a", "v1", "{}").source_of("ANY") == SecretSource("app/a", "v1", "aws", None)


def test_an_unknown_error_code_gets_the_default_hint() -> None:
    assert hint_for("SomethingNew") == "run `calitho-env check` for details"
    assert FetchFailure("SomethingNew", "m").hint == "run `calitho-env check` for details"


@pytest.mark.parametrize("kind", [PARAMETER, PATH])
def test_a_parameter_failure_gets_parameter_stores_fix_or_else_the_common_one(kind: str) -> None:
    request = SecretRequest("/p/x", kind=kind)
    denied = FetchFailure("AccessDeniedException", "m").hint_about(request)
    assert "ssm:GetParameters" in denied
    assert "secretsmanager:GetSecretValue" not in denied
    assert FetchFailure("ParameterNotFound", "m").hint_about(request) == hint_for("ParameterNotFound")
    assert FetchFailure("SomethingNew", "m").hint_about(request) == "run `calitho-env check` for details"


def test_a_secret_failure_gets_secrets_managers_fix() -> None:
    hint = FetchFailure("AccessDeniedException", "m").hint_about(SecretRequest("app/a"))
    assert hint == hint_for("AccessDeniedException")
    assert "secretsmanager:GetSecretValue" in hint


# --- secret ids: names and ARNs of a mapping ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "app/db",
        "a",
        "A-z_0+9=.@/",
        "x" * 512,
        "rds!db-0123abcd-4567-89ef-0123-456789abcdef",
        "rds!cluster-0123abcd",
        "events!connection/app/abc",
        "ab!x",
        "a" + "b" * 62 + "!x",
        "rds!" + "x" * 508,
    ],
)
def test_a_secret_name_or_a_managed_one_is_taken_as_it_is(name: str) -> None:
    assert parse_secret_id(name, "AWS_SECRET_DB (.env:1)") == SecretRequest(name)


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("", "it is empty"),
        (f"{SENTINEL} x", "it contains U+0020"),
        (f"{SENTINEL}:x", "it contains ':'"),
        (f"{SENTINEL}\n", "it contains U+000A"),
        ("x" * 513, "513 characters, over 512"),
        ("x" * 511 + " ", "it contains U+0020"),
        ("rds!" + "x" * 509, "513 characters, over 512"),
        ("r!x", "it contains '!'"),
        ("Rds!db-1", "it contains '!'"),
        ("1ds!db-1", "it contains '!'"),
        ("rds!", "it contains '!'"),
        ("a" + "b" * 63 + "!x", "it contains '!'"),
        ("rds!db!x", "it contains '!'"),
        ("rds_x!db", "it contains '!'"),
    ],
)
def test_anything_else_is_refused_describing_what_is_wrong_never_quoting_it(name: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_secret_id(name, "AWS_SECRET_DB (.env:1)")
    assert raised.value.message == f"AWS_SECRET_DB (.env:1): the value is not a secret name ({said})"
    assert raised.value.hint == (
        "secret names are 1-512 characters of letters, digits and /_+=.@-; a secret an AWS service "
        "manages starts with its service id and '!' (rds!db-...)"
    )
    assert SENTINEL not in raised.value.message


@pytest.mark.parametrize(
    ("secret_id", "managed"),
    [
        ("rds!db-0123abcd", True),
        ("events!connection/app/abc", True),
        (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-0123abcd-AbCdEf", True),
        ("app/db", False),
        (BASE, False),
        ("Rds!db-1", False),
        ("r!x", False),
        ("rds!", False),
        ("rds!" + "x" * 509, False),
    ],
)
def test_a_managed_secret_is_named_service_bang_name_alone_or_in_an_arn(secret_id: str, managed: bool) -> None:
    assert is_managed_secret(secret_id) is managed


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        (BASE, REGION),
        (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db", REGION),  # partial: no -AbCdEf
        (f"arn:aws-cn:secretsmanager:cn-north-1:{ACCOUNT}:secret:app", "cn-north-1"),
        (f"arn:aws-us-gov:secretsmanager:us-gov-west-1:{ACCOUNT}:secret:app", "us-gov-west-1"),
        (f"arn:aws:secretsmanager:ap-southeast-2:{ACCOUNT}:secret:rds!db-0123abcd-AbCdEf", "ap-southeast-2"),
    ],
)
def test_a_mapping_to_an_arn_pins_the_arns_region_and_keeps_the_arn_as_its_id(arn: str, region: str) -> None:
    assert parse_secret_id(arn, "AWS_SECRET_DB (.env:1)") == SecretRequest(arn, region=region)


@pytest.mark.parametrize(
    "arn",
    [
        f"{BASE}:password",
        f"{BASE}:",
        f"arn:aws:secretsmanager:US-east-1:{ACCOUNT}:secret:app",
        f"arn:aws:secretsmanager:useast1:{ACCOUNT}:secret:app",
        f"arn:aws:secretsmanager:{REGION}:12345678901:secret:app",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app db",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app\ndb",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:parameter:app",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app",
    ],
)
def test_a_mapping_to_anything_but_a_plain_secret_arn_is_refused(arn: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_secret_id(arn, "AWS_SECRET_DB (.env:1)")
    assert raised.value.message == "AWS_SECRET_DB (.env:1): the value is not a secret ARN"
    assert raised.value.hint == "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, or just the secret's name"


# --- mappings: which names map, and how their values are read -------------------------------------


def bindings_of(**values: str) -> dict[str, Binding]:
    return {
        name: Binding(name, value, FileSource(".env", line)) for line, (name, value) in enumerate(values.items(), 1)
    }


def test_mappings_are_found_in_name_order_with_their_values_stripped() -> None:
    found = find_mappings(
        bindings_of(
            AWS_SECRET_ZED="  app/z \t",
            AWS_SSM_PATH_CONF=" /app/conf ",
            AWS_SECRET_ALPHA=BASE,
            AWS_SSM_PATH_ALL="/",
            AWS_SECRET_MID="rds!db-1",
            AWS_SSM_PATH_SLASHED="/app/s/",
        )
    )
    assert found == [
        SecretMapping("AWS_SECRET_ALPHA", SecretRequest(BASE, region=REGION)),
        SecretMapping("AWS_SECRET_MID", SecretRequest("rds!db-1")),
        SecretMapping("AWS_SECRET_ZED", SecretRequest("app/z")),
        SecretMapping("AWS_SSM_PATH_ALL", SecretRequest("/", kind=PATH)),
        SecretMapping("AWS_SSM_PATH_CONF", SecretRequest("/app/conf/", kind=PATH)),
        SecretMapping("AWS_SSM_PATH_SLASHED", SecretRequest("/app/s/", kind=PATH)),
    ]


def test_an_empty_or_blank_mapping_is_switched_off() -> None:
    found = find_mappings(bindings_of(AWS_SECRET_A="", AWS_SECRET_B=" \t ", AWS_SSM_PATH_C=" ", AWS_SECRET_D="d"))
    assert found == [SecretMapping("AWS_SECRET_D", SecretRequest("d"))]


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY_OLD",
        "AWS_SECRET_ACCESS_KEYS",
        "AWS_SECRET_KEY",
        "AWS_SECRET_KEY_ID",
        "AWS_SECRET_KEYRING",
        "DB_AWS_SECRET_X",
        "aws_secret_db",
        "AWS_SECRETS_DB",
        "DB_SECRET_ARN",
    ],
)
def test_credentials_and_look_alikes_are_never_mappings(name: str) -> None:
    assert find_mappings(bindings_of(**{name: f"{SENTINEL} not a name"})) == []


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS", "AWS_SECRET_ACCESS_KE", "AWS_SECRET_KE", "AWS_SECRET_DB_KEY"])
def test_names_only_near_a_credential_are_mappings(name: str) -> None:
    assert find_mappings(bindings_of(**{name: "app/a"})) == [SecretMapping(name, SecretRequest("app/a"))]


def test_a_mapping_without_a_name_is_refused() -> None:
    with pytest.raises(ConfigurationError) as raised:
        find_mappings(bindings_of(AWS_SECRET_="app/a"))
    assert raised.value.message == "AWS_SECRET_ (file:.env:1): a mapping needs a name after AWS_SECRET_"
    assert raised.value.hint == "e.g. AWS_SECRET_DATABASE"


def test_a_bad_secret_id_is_refused_naming_the_mapping_and_its_line() -> None:
    with pytest.raises(ConfigurationError) as raised:
        find_mappings(bindings_of(AWS_SECRET_A="app/a", AWS_SECRET_B=f"{SENTINEL} x"))
    assert raised.value.message == "AWS_SECRET_B (file:.env:2): the value is not a secret name (it contains U+0020)"
    assert SENTINEL not in raised.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_SSM_PATH_", "/app/"),
        ("AWS_SSM_PATH_A", "app/"),
        ("AWS_SSM_PATH_A", f"/{SENTINEL} x/"),
        ("AWS_SSM_PATH_A", "/" + "a" * 2049),
    ],
)
def test_a_bad_path_mapping_is_refused_naming_the_mapping(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        find_mappings(bindings_of(**{name: value}))
    assert raised.value.message == f"{name} (file:.env:1): a path mapping is AWS_SSM_PATH_<NAME>=/a/path/"
    assert raised.value.hint == "every parameter under the path becomes a variable named by its last segment"
    assert SENTINEL not in raised.value.message


def test_a_path_mapping_may_be_as_long_as_parameter_store_allows() -> None:
    path = "/" + "a" * 2048
    assert find_mappings(bindings_of(AWS_SSM_PATH_A=path)) == [
        SecretMapping("AWS_SSM_PATH_A", SecretRequest(path + "/", kind=PATH))
    ]


# --- references: ARNs in values, with json-key, version stage or version id ---------------------


def references_of(**values: str) -> list[SecretReference]:
    return find_references(bindings_of(**values))


def reference(arn: str) -> SecretReference:
    (found,) = references_of(DB=arn)
    return found


@pytest.mark.parametrize(
    ("suffix", "json_key", "stage", "version_id"),
    [
        ("", None, None, None),
        (":", None, None, None),
        (":password", "password", None, None),
        (":pass.word-1 x", "pass.word-1 x", None, None),
        (":password:", "password", None, None),
        (":password:AWSPREVIOUS", "password", "AWSPREVIOUS", None),
        ("::AWSPENDING", None, "AWSPENDING", None),
        ("::" + "S_+=.@-9" * 32, None, "S_+=.@-9" * 32, None),
        (f":password::{VERSION_ID}", "password", None, VERSION_ID),
        (f":::{VERSION_ID}", None, None, VERSION_ID),
        (":::" + "a-" * 32, None, None, "a-" * 32),
    ],
)
def test_a_reference_reads_json_key_stage_and_version_id(
    suffix: str, json_key: str | None, stage: str | None, version_id: str | None
) -> None:
    assert reference(BASE + suffix) == SecretReference("DB", SecretRequest(BASE, REGION, stage, version_id), json_key)


def test_a_json_key_is_taken_as_written_even_across_a_line() -> None:
    assert reference(BASE + ":a\nb").json_key == "a\nb"


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db", REGION),  # a partial ARN
        (f"arn:aws-cn:secretsmanager:cn-northwest-1:{ACCOUNT}:secret:app-AbCdEf", "cn-northwest-1"),
        (f"arn:aws:secretsmanager:eu-central-2:{ACCOUNT}:secret:rds!db-0123abcd-AbCdEf", "eu-central-2"),
    ],
)
def test_a_reference_pins_its_region_and_keeps_the_arn_without_its_fields(arn: str, region: str) -> None:
    assert reference(arn + ":k") == SecretReference("DB", SecretRequest(arn, region), "k")


@pytest.mark.parametrize(
    "arn",
    [
        BASE + ":k:s:" + VERSION_ID + ":more",
        BASE + "::::",
        BASE + ":k:AWS CURRENT",
        BASE + ":k:AWS:CURRENT",
        BASE + "::" + "S" * 257,
        BASE + ":::" + "a" * 31,
        BASE + ":::" + "a" * 65,
        BASE + ":::" + "a_" * 16,
        BASE + ":::" + VERSION_ID + "\n",
        BASE + "::" + "AWSCURRENT\n",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app db",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:",
        f"arn:aws:secretsmanager:Us-east-1:{ACCOUNT}:secret:app",
        f"arn:aws:secretsmanager:{REGION}:1234567890123:secret:app",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secrets:app",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:R!x",
    ],
)
def test_a_malformed_reference_is_refused_naming_the_variable_and_its_line(arn: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        reference(arn)
    assert raised.value.message == "DB (file:.env:1): malformed secret reference"
    assert raised.value.hint == (
        "the form is arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key[:version-stage[:version-id]]]"
    )


def test_a_version_stage_and_a_version_id_together_are_refused() -> None:
    with pytest.raises(ConfigurationError) as raised:
        reference(f"{BASE}:password:AWSPREVIOUS:{VERSION_ID}")
    assert raised.value.message == (
        "DB (file:.env:1): a secret reference names a version stage and a version id; give one of them"
    )
    assert raised.value.hint == "ECS rejects both together too: keep the version id, or the stage (e.g. AWSPREVIOUS)"


@pytest.mark.parametrize(
    ("name", "parameter"),
    [("plain", "plain"), ("app/db", "/app/db"), ("a/b/c.d-e_f", "/a/b/c.d-e_f"), ("x" * 2048, "x" * 2048)],
)
def test_a_parameter_store_arn_asks_for_the_parameter_in_the_arns_region(name: str, parameter: str) -> None:
    assert reference(PARAMETER_BASE + name) == SecretReference(
        "DB", SecretRequest(parameter, REGION, kind=PARAMETER), None
    )
    cn = f"arn:aws-cn:ssm:cn-north-1:{ACCOUNT}:parameter/{name}"
    assert reference(cn).request == SecretRequest(parameter, "cn-north-1", kind=PARAMETER)


@pytest.mark.parametrize(
    "arn",
    [
        PARAMETER_BASE + "a:b",
        PARAMETER_BASE + "a b",
        PARAMETER_BASE + "x" * 2049,
        PARAMETER_BASE,
        f"arn:aws:ssm:USEAST1:{ACCOUNT}:parameter/a",
        f"arn:aws:ssm:{REGION}:123:parameter/a",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a\n",
    ],
)
def test_a_malformed_parameter_reference_is_refused(arn: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        reference(arn)
    assert raised.value.message == "DB (file:.env:1): malformed parameter reference"
    assert raised.value.hint == (
        "the form is arn:aws:ssm:REGION:ACCOUNT:parameter/NAME (a name with / starts with one: parameter/a/b)"
    )


@pytest.mark.parametrize(
    ("value", "parameter"),
    [
        (PARAMETER_BASE + "a", True),
        (PARAMETER_BASE + "a:b", True),
        (f"arn:aws-cn:ssm:cn-north-1:{ACCOUNT}:parameter/a", True),
        (f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/a", False),
        (f"arn:aws:ssm:{REGION}:{ACCOUNT}:xparameter/a", False),
        (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:parameter/a", False),
        (f"xarn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a", False),
        (f"arn:aws:ssmx:{REGION}:{ACCOUNT}:parameter/a", False),
    ],
)
def test_which_values_are_parameter_arns(value: str, parameter: bool) -> None:
    assert is_parameter_arn(value) is parameter
    assert is_reference(value) is (parameter or value.startswith("arn:aws:secretsmanager:"))


def test_only_other_names_hold_references_and_every_one_is_read_in_name_order() -> None:
    found = references_of(
        Z_TOKEN=BASE + ":z",
        DB_SECRET_ARN=BASE,
        DB_ARN=PARAMETER_BASE + "a",
        AWS_SECRET_DB=BASE,
        A_TOKEN=PARAMETER_BASE + "a",
        PLAIN="app/db",
        URL="https://arn:aws:secretsmanager@x",
    )
    assert found == [
        SecretReference("A_TOKEN", SecretRequest("a", REGION, kind=PARAMETER), None),
        SecretReference("Z_TOKEN", SecretRequest(BASE, REGION), "z"),
    ]
