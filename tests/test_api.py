"""The Python API for workers: same resolution as `run`, cached, thread-safe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import DUMP_ENV, SENTINEL, aws_env, base_env, launch, write

SEED_ENV = (
    "AWS_SECRET_DATABASE=calitho-suite/database\nAWS_SECRET_NEXTAUTH=calitho-suite/nextauth\n"
    "AWS_SECRET_REDIS=calitho-suite/redis\nDATABASE_URL=postgres://dev\nNEXTAUTH_SECRET=dev\nREDIS_URL=redis://dev\n"
)


def python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def create_seed(proxy: AwsProxy, create_secret: object) -> None:
    assert callable(create_secret)
    create_secret("calitho-suite/database", {"DATABASE_URL": "postgres://prod"})
    create_secret("calitho-suite/nextauth", {"NEXTAUTH_SECRET": f"{SENTINEL}-jwt"})
    create_secret("calitho-suite/redis", {"REDIS_URL": "redis://prod"})


def test_the_getters_return_the_same_values_as_run_in_development(project: Path, tmp_path: Path) -> None:
    write(project / ".env", SEED_ENV)
    code = (
        "import json\nfrom calitho_env import *\n"
        "print(json.dumps([get_database_url(), get_nextauth_secret(), get_redis_url(), get_all_secrets()]))"
    )
    database, nextauth, redis, every = json.loads(python(code, project, base_env(tmp_path)).stdout)
    child = launch(["run", "--", *DUMP_ENV], base_env(tmp_path), project).child_env()
    assert [database, nextauth, redis] == [child["DATABASE_URL"], child["NEXTAUTH_SECRET"], child["REDIS_URL"]]
    assert [database, nextauth, redis] == ["postgres://dev", "dev", "redis://dev"]
    assert every == {name: child[name] for name in every}  # every value as run gives it
    assert set(every) == {line.split("=", 1)[0] for line in SEED_ENV.splitlines()}  # what the env files define


def test_32_threads_at_once_make_one_fetch_per_secret_and_clearing_fetches_again(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: object
) -> None:
    create_seed(proxy, create_secret)
    write(project / ".env", SEED_ENV)
    proxy.reset_counts()
    code = (
        "import threading, calitho_env as c\n"
        "seen = []\n"
        "def work():\n"
        "    seen.append((c.get_database_url(), c.get_redis_url(), c.get_secret('NEXTAUTH_SECRET')))\n"
        "threads = [threading.Thread(target=work) for _ in range(32)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert len(set(seen)) == 1 and len(seen) == 32, seen\n"
        "print(seen[0][0], seen[0][1])\n"
        "c.clear_secrets_cache()\n"
        "print(c.get_redis_url())\n"
    )
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production")
    result = python(code, project, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgres://prod", "redis://prod", "redis://prod"]
    assert proxy.calls["GetSecretValue"] == 6  # three secrets, fetched twice: before and after the clear


def test_errors_are_the_clis_types_with_their_exit_codes(project: Path, tmp_path: Path) -> None:
    code = (
        "import calitho_env\n"
        "try:\n"
        "    calitho_env.get_database_url()\n"
        "except calitho_env.MissingVariablesError as error:\n"
        "    print(type(error).__name__, error.exit_code, error.names)\n"
    )
    result = python(code, project, base_env(tmp_path))
    assert result.stdout.strip() == "MissingVariablesError 78 ['DATABASE_URL']"


def test_api_warnings_go_to_the_calitho_env_logger_without_values(
    project: Path, tmp_path: Path, proxy: AwsProxy
) -> None:
    write(project / ".env", SEED_ENV.replace("dev\n", f"{SENTINEL}\n"))
    code = (
        "import logging, calitho_env\n"
        "logging.basicConfig(level=logging.WARNING, format='%(name)s %(levelname)s %(message)s')\n"
        "print(calitho_env.get_nextauth_secret() == 'SENTINEL-9f3c2a')\n"
    )
    result = python(code, project, aws_env(proxy.url, tmp_path, NODE_ENV="production"))
    assert result.stdout.strip() == "True"
    assert "calitho_env WARNING secret calitho-suite/nextauth could not be fetched" in result.stderr
    assert SENTINEL not in result.stderr


def test_importing_calitho_env_imports_no_aws_code(tmp_path: Path) -> None:
    code = "import sys, calitho_env; print([m for m in sys.modules if m.startswith(('boto', 'botocore'))])"
    assert python(code, tmp_path, base_env(tmp_path)).stdout.strip() == "[]"


def test_json_log_format_writes_one_object_per_line(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: object
) -> None:
    create_seed(proxy, create_secret)
    write(project / ".env", SEED_ENV + "AWS_SECRET_GONE=calitho-suite/gone\n")
    result = subprocess.run(
        [sys.executable, "-m", "calitho_env", "print", "-v", "--log-format", "json"],
        cwd=project,
        env=aws_env(proxy.url, tmp_path, NODE_ENV="production"),
        capture_output=True,
        text=True,
    )
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert all({"level", "event", "message"} <= set(record) for record in records)
    events = {record["event"]: record for record in records}
    assert events["mode"]["mode"] == "production"
    assert events["secret_unavailable"]["secret_id"] == "calitho-suite/gone"
    assert events["secret_unavailable"]["error_code"] == "ResourceNotFoundException"
    assert events["secret_unavailable"]["level"] == "warning"
    assert "verify the secret name" in events["secret_unavailable"]["hint"]
    assert isinstance(events["secret_fetched"]["elapsed_ms"], float)
    assert SENTINEL not in result.stderr


def test_json_log_format_reports_errors_with_their_exit_code(project: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "calitho_env", "--log-format", "json", "run", "--", "no-such-command"],
        cwd=project,
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
    )
    (record,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert record["level"] == "error"
    assert record["exit_code"] == 127
    assert result.returncode == 127


def test_calitho_env_log_format_json_in_the_environment_chooses_json_lines(project: Path, tmp_path: Path) -> None:
    write(project / ".env", "GOOD=1\nnot a binding\n")
    result = subprocess.run(
        [sys.executable, "-m", "calitho_env", "print"],
        cwd=project,
        env=base_env(tmp_path, {"CALITHO_ENV_LOG_FORMAT": "json"}),
        capture_output=True,
        text=True,
    )
    (record,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert (record["level"], record["event"]) == ("warning", "env_file_unparsable")


def test_a_raised_error_keeps_no_frame_whose_locals_hold_a_value(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: object
) -> None:
    """Error trackers capture locals; the resolver's frames hold every value it read."""
    create_seed(proxy, create_secret)
    assert callable(create_secret)
    create_secret("calitho-suite/broken", f'["{SENTINEL}-broken"]')
    write(project / ".env", SEED_ENV.replace("NEXTAUTH_SECRET=dev", f"NEXTAUTH_SECRET={SENTINEL}-file"))
    write(project / ".env.production", "")
    code = (
        "import os, traceback, calitho_env\n"
        "for extra in ({'CALITHO_ENV_REQUIRE': 'MISSING'}, {'AWS_SECRET_BROKEN': 'calitho-suite/broken'}):\n"
        "    os.environ.update(extra)\n"
        "    calitho_env.clear_secrets_cache()\n"
        "    try:\n"
        "        calitho_env.get_database_url()\n"
        "    except calitho_env.CalithoError as error:\n"
        "        text = ''.join(traceback.TracebackException.from_exception(error, capture_locals=True).format())\n"
        f"        print(type(error).__name__, text.count({SENTINEL!r}))\n"
        "    for name in extra:\n"
        "        del os.environ[name]\n"
    )
    result = python(code, project, aws_env(proxy.url, tmp_path, NODE_ENV="production"))
    assert result.stdout.split("\n")[:2] == ["MissingVariablesError 0", "ConfigurationError 0"], result.stderr


@pytest.mark.serial
def test_max_age_refreshes_and_a_failed_refresh_keeps_the_last_good_value(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: object, secretsmanager: Any
) -> None:
    assert callable(create_secret)
    create_secret("calitho-suite/app", {"TOKEN": "one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    code = (
        "import logging, sys, boto3, calitho_env\n"
        "logging.basicConfig(stream=sys.stderr, format='%(levelname)s %(message)s')\n"
        "sm = boto3.client('secretsmanager')\n"
        "print(calitho_env.get_secret('TOKEN'))\n"
        "sm.put_secret_value(SecretId='calitho-suite/app', SecretString='{\"TOKEN\": \"two\"}')\n"
        "print(calitho_env.get_secret('TOKEN'))  # cached: no max_age, no TTL\n"
        "print(calitho_env.get_secret('TOKEN', max_age=0))\n"
        "sm.put_secret_value(SecretId='calitho-suite/app', SecretString='{\"TOKEN\": \"three\"}')\n"
        "open(sys.argv[1], 'w').write('down')\n"
        "import time; time.sleep(0.3)\n"
        "print(calitho_env.get_secret('TOKEN', max_age=0))  # the refresh fails: the last good value\n"
    )
    flag = tmp_path / "down"
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", AWS_DEFAULT_REGION="us-west-1")

    def python_with_flag() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, str(flag)], cwd=project, env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    proxy.add(Fault("InternalServiceError", status=500, once_exists=flag))
    result = python_with_flag()
    assert result.stdout.split() == ["one", "one", "two", "two"], result.stderr
    assert "keeping the last good values" in result.stderr
