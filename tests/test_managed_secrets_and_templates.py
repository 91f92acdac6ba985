"""Secrets AWS services manage (rds!db-...), and values composed from their keys ({{ DB.password | urlencode }})."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak, assert_no_leak_on_stderr, aws_env, write

MANAGED = "rds!db-8f2c1e7a-4b1d-4c3e-9f2a-0d6b5e4a3c21"
# What a generated password may hold: every character a URL gives a meaning to, a space, non-ASCII.
PASSWORD = f"{SENTINEL}#%?/@: +&=;,$!'()*[]~.é€😀"
USERNAME = "app_user"
TEMPLATE = "postgresql://{{ DB.username }}:{{ DB.password | urlencode }}@db.internal:5432/calitho"
MAPPING = f"AWS_SECRET_DB={MANAGED}\n"


@pytest.fixture
def managed(create_secret: Create) -> str:
    """An RDS-managed master-user secret, as RDS creates it: only username and password."""
    return create_secret(MANAGED, {"username": USERNAME, "password": PASSWORD})


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password is not None
    return unquote(password)


def test_a_managed_secret_maps_by_name_and_by_arn(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str, create_secret: Create
) -> None:
    cluster = create_secret("rds!cluster-1a96bebc-86c1-4982-9f9f-7d6a651d2464", {"port": "5432"})
    write(project / ".env", f"{MAPPING}AWS_SECRET_CLUSTER={cluster}\n")
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert (child["username"], child["password"], child["port"]) == (USERNAME, PASSWORD, "5432")


@pytest.mark.parametrize("garbage", ["!db-1", "RDS!db-1", "rds!", "rds!!db", "rds!db 1", "r!db-1"])
def test_a_bang_outside_the_managed_form_is_still_not_a_secret_name(
    cli: Cli, project: Path, prod_env: dict[str, str], garbage: str
) -> None:
    write(project / ".env", f"AWS_SECRET_DB={garbage}\n")
    result = cli("run", "--", "true", env=prod_env)
    assert result.returncode == 78
    assert "AWS_SECRET_DB" in result.stderr
    assert "not a secret name" in result.stderr


def test_a_template_in_an_env_file_gives_a_url_whose_password_decodes_back_exactly(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    url = child["DATABASE_URL"]
    assert url.startswith(f"postgresql://{USERNAME}:")
    assert url.endswith("@db.internal:5432/calitho")
    assert password_of(url) == PASSWORD
    assert urlsplit(url).hostname == "db.internal"
    assert urlsplit(url).port == 5432


def test_a_template_in_the_process_environment_is_filled_too(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    """An ECS task definition's `environment` holds the template; no env file at all."""
    prod_env.update(AWS_SECRET_DB=MANAGED, DATABASE_URL=TEMPLATE)
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert password_of(child["DATABASE_URL"]) == PASSWORD


def test_urlencode_leaves_only_unreserved_characters() -> None:
    from calitho_env.core.templates import urlencode

    encoded = urlencode(PASSWORD + "AZaz09-._~")
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%")
    assert encoded.endswith("AZaz09-._~")
    assert unquote(encoded) == PASSWORD + "AZaz09-._~"


def test_development_takes_its_value_from_env_development(cli: Cli, project: Path, tmp_path: Path) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    write(project / ".env.development", "DATABASE_URL=postgresql://localhost/dev\n")
    result = cli("run", "--", *DUMP_ENV, env=aws_env("http://127.0.0.1:9", tmp_path))
    assert result.child_env()["DATABASE_URL"] == "postgresql://localhost/dev"
    assert "template" not in result.stderr


def test_development_leaves_a_template_unset_and_says_where_to_define_it(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    result = cli("run", "--", *DUMP_ENV, env=aws_env("http://127.0.0.1:9", tmp_path))
    assert "DATABASE_URL" not in result.child_env()
    assert "DATABASE_URL" in result.stderr
    assert "define DATABASE_URL in .env.development" in result.stderr
    assert "{{" not in result.stdout


def test_check_in_development_calls_a_template_it_cannot_fill_a_problem(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\nPORT=3000\n")
    result = cli("check", env=aws_env("http://127.0.0.1:9", tmp_path))
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stdout
    assert "define DATABASE_URL in .env.development" in result.stdout
    assert "all is well" not in result.stdout


def test_a_key_the_secret_lacks_exits_78_naming_variable_mapping_and_key_but_no_value(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL=postgresql://{{{{ DB.user }}}}:{SENTINEL}@db/x\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr
    assert "AWS_SECRET_DB" in result.stderr
    assert "'user'" in result.stderr
    assert_no_leak(result)


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{{ DB.password", "not closed"),
        ("{{ DB.password | base64 }}", "unknown filter 'base64'"),
        ("{{ DB }}", "needs a key"),
        ("{{ DB.password | }}", "optionally followed by | urlencode"),
    ],
)
def test_a_malformed_template_exits_78_in_every_mode(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str, template: str, said: str
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={SENTINEL}{template}\n")
    for mode in ("production", "development"):
        result = cli("run", "--mode", mode, "--", "true", env=prod_env)
        assert result.returncode == 78, result.stderr
        assert "DATABASE_URL" in result.stderr
        assert "AWS_SECRET_DB" in result.stderr
        assert said in result.stderr
        assert_no_leak(result)


def test_a_template_of_no_mapping_is_left_as_it_is_with_a_warning(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", f"{MAPPING}GREETING=hello {{{{ USER.name }}}}\nGO={{{{.Time}}}} {{{{ not a template\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    child = result.child_env()
    assert child["GREETING"] == "hello {{ USER.name }}"
    assert child["GO"] == "{{.Time}} {{ not a template"
    assert "GREETING" in result.stderr
    assert "no AWS_SECRET_USER is mapped" in result.stderr
    assert "GO " not in result.stderr


def test_secret_values_are_never_expanded(
    cli: Cli, project: Path, prod_env: dict[str, str], create_secret: Create
) -> None:
    create_secret(MANAGED, {"username": "{{ DB.password }}", "password": PASSWORD, "NOTE": "{{ DB.password }}"})
    write(project / ".env", f"{MAPPING}LOGIN={{{{ DB.username }}}}\n")
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["LOGIN"] == "{{ DB.password }}"
    assert child["NOTE"] == "{{ DB.password }}"


def test_the_table_shows_a_composed_value_masked_with_its_mapping_and_version(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str, secretsmanager: Any
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    version = secretsmanager.describe_secret(SecretId=MANAGED)["VersionIdsToStages"]
    (version_id,) = [v for v, stages in version.items() if "AWSCURRENT" in stages]
    result = cli("print", "--format", "table", "--wide", "DATABASE_URL", env=prod_env)
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1].split()
    assert row == ["DATABASE_URL", "composed:DB", "from", f"aws:{MANAGED}@{version_id}", "********"]
    assert_no_leak(result, [SENTINEL, "%23"])
    masked = cli("print", "--format", "json", "--mask", env=prod_env)
    assert json.loads(masked.stdout)["DATABASE_URL"] == "********"


def test_a_template_whose_secret_failed_falls_back_like_the_secrets_own_keys(
    cli: Cli, project: Path, prod_env: dict[str, str]
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL=postgresql://localhost/{SENTINEL}\n")
    prod_env["DATABASE_URL"] = TEMPLATE  # the task definition's template; the secret is missing
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert result.child_env()["DATABASE_URL"] == f"postgresql://localhost/{SENTINEL}"
    assert "DATABASE_URL from file:" in result.stderr
    assert "fallback" in result.stderr
    withheld = cli("run", "--fallback", "environment", "--", *DUMP_ENV, env=prod_env)
    assert "DATABASE_URL" not in withheld.child_env()
    assert "DATABASE_URL unset" in withheld.stderr
    assert_no_leak_on_stderr(withheld)
    assert cli("run", "--fallback", "none", "--", "true", env=prod_env).returncode == 69


def test_a_protected_name_is_not_composed(cli: Cli, project: Path, prod_env: dict[str, str], managed: str) -> None:
    write(project / ".env", f"{MAPPING}NODE_OPTIONS=--require {{{{ DB.password }}}}\n")
    result = cli("run", "--", *DUMP_ENV, env=prod_env)
    assert "NODE_OPTIONS" not in result.child_env()
    assert "may not set NODE_OPTIONS" in result.stderr
    assert_no_leak_on_stderr(result)


def test_iam_policy_covers_the_managed_secrets_real_arn(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", MAPPING)
    result = cli("iam-policy", "--account", "123456789012", "--mode", "production", env=prod_env)
    (resource,) = json.loads(result.stdout)["Statement"][0]["Resource"]
    assert resource == f"arn:aws:secretsmanager:us-west-1:123456789012:secret:{MANAGED}-??????"
    assert fnmatch.fnmatchcase(managed, resource)  # IAM's ? is one character, as fnmatch's


def test_check_lists_what_a_managed_secret_composes(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    result = cli("check", "--mode", "production", "--require", "DATABASE_URL", env=prod_env)
    said = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout
    assert f"ok {MANAGED}" in said
    assert "keys: password, username" in said
    assert "composes: DATABASE_URL" in said
    assert "username unset, DATABASE_URL unset" in said  # what run would use without it
    assert "ok DATABASE_URL composed:DB from aws:rds!db-" in said
    assert_no_leak(result)


def test_check_reports_a_key_the_secret_lacks_as_a_problem(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str
) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={{{{ DB.pasword }}}}\n")
    result = cli("check", "--mode", "production", env=prod_env)
    assert result.returncode == 1
    assert "has no key 'pasword'" in " ".join(result.stdout.split())
    assert_no_leak(result)


def test_check_says_a_managed_secret_needs_kms_decrypt_on_its_key(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, managed: str
) -> None:
    proxy.add(Fault("AccessDeniedException", secret_id=MANAGED))
    write(project / ".env", MAPPING)
    result = cli("check", "--mode", "production", env=aws_env(proxy.url, tmp_path))
    said = " ".join(result.stdout.split())
    assert result.returncode == 1
    assert "kms:Decrypt on that key" in said
    assert "KmsKeyId" in said
    assert_no_leak(result)


def test_rotate_leaves_a_managed_secret_to_its_service(
    cli: Cli, tmp_path: Path, aws: str, managed: str, secretsmanager: Any
) -> None:
    result = cli("rotate", MANAGED, "password", "--generate", env=aws_env(aws, tmp_path))
    assert result.returncode == 78
    assert "managed by an AWS service" in result.stderr
    assert "aws secretsmanager rotate-secret" in result.stderr
    assert json.loads(secretsmanager.get_secret_value(SecretId=MANAGED)["SecretString"])["password"] == PASSWORD


def test_the_python_api_composes_like_run(project: Path, tmp_path: Path, aws: str, managed: str) -> None:
    write(project / ".env", f"{MAPPING}DATABASE_URL={TEMPLATE}\n")
    code = "import calitho_env, sys; sys.stdout.write(calitho_env.get_database_url())"
    env = aws_env(aws, tmp_path, NODE_ENV="production")
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert password_of(completed.stdout) == PASSWORD


@pytest.mark.parametrize(
    "text",
    [
        "{{DB.password}}",
        "{{ DB.password }}",
        "{{\tDB.password\t}}",
        "{{DB.password|urlencode}}",
        "{{  DB.password  |  urlencode  }}",
    ],
)
def test_spaces_and_tabs_are_allowed_around_the_reference_and_the_filter(text: str) -> None:
    from calitho_env.core.templates import Placeholder, parse

    parsed = parse(f"a{text}b", {"DB"})
    assert parsed.template is not None
    (placeholder,) = parsed.template.placeholders()
    assert placeholder == Placeholder("DB", "password", "urlencode" if "urlencode" in text else None)
    assert parsed.template.render(lambda _: "x y") == ("ax%20yb" if placeholder.filter else "ax yb")


def test_one_value_may_compose_from_two_secrets_and_names_both(
    cli: Cli, project: Path, prod_env: dict[str, str], managed: str, create_secret: Create
) -> None:
    create_secret("calitho/redis-auth", {"token": f"{SENTINEL}/@:"})
    write(
        project / ".env",
        f"{MAPPING}AWS_SECRET_REDIS=calitho/redis-auth\n"
        "PAIR={{ DB.username }}|{{REDIS.token|urlencode}}|{{ DB.username }}\n",
    )
    child = cli("run", "--", *DUMP_ENV, env=prod_env).child_env()
    assert child["PAIR"] == f"{USERNAME}|{SENTINEL}%2F%40%3A|{USERNAME}"
    table = cli("print", "--format", "table", "--wide", "PAIR", env=prod_env).stdout
    assert f"composed:DB from aws:{MANAGED}@" in table
    assert ", REDIS from aws:calitho/redis-auth@" in table
