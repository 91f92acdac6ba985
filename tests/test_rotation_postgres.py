"""End to end: a worker under `run --watch` connects to a real PostgreSQL with a DATABASE_URL composed
from an RDS-managed secret; the password is rotated the way RDS's single-user rotation function
does it; the worker is restarted and connects with the new password."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.harness import SENTINEL, Create, aws_env, write
from tests.postgres import Postgres, postgres_server

MANAGED = "rds!db-3c0f9a51-6e2d-4b8a-9d47-1f5e8c2b7a90"
USER = "calitho_app"
FIRST = f"{SENTINEL}#%?/@: é1"  # what a generated password may hold, URL-special and non-ASCII
SECOND = f"{SENTINEL}~:/?#[]@!$&'()*+,;= ü2"

# The worker: connects once with the composed URL, logs when (never the password), holds the connection.
WORKER = """
import os, sys, time, psycopg
log = open(sys.argv[1], "a", buffering=1)
try:
    connection = psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5)
except psycopg.OperationalError as error:
    log.write(f"failed {time.time():.6f} {os.getpid()}\\n")
    sys.exit(1)
(user,) = connection.execute("SELECT current_user").fetchone()
log.write(f"connected {time.time():.6f} {os.getpid()} {user}\\n")
while True:
    time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        server.create_role(USER, FIRST)
        yield server


def connected(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def wait_for_connections(log: Path, count: int, seconds: float = 30) -> list[list[str]]:
    deadline = time.monotonic() + seconds
    while len(lines := connected(log)) < count:
        assert not any(line[0] == "failed" for line in lines), lines
        assert time.monotonic() < deadline, f"timed out waiting for connection {count}: {lines}"
        time.sleep(0.02)
    return lines


def rotate_single_user(secretsmanager: Any, postgres: Postgres, new_password: str) -> float:
    """The four steps of the RDS single-user rotation function; returns when AWSCURRENT moved (time.time())."""
    token = str(uuid.uuid4())
    current = secretsmanager.get_secret_value(SecretId=MANAGED, VersionStage="AWSCURRENT")
    secret = json.loads(current["SecretString"])
    # createSecret: the new password as AWSPENDING
    pending = {**secret, "password": new_password}
    secretsmanager.put_secret_value(
        SecretId=MANAGED, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=["AWSPENDING"]
    )
    # setSecret: log in with the current password and change it to the pending one
    with postgres.connect(secret["username"], secret["password"]) as connection:
        connection.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(secret["username"]), sql.Literal(new_password))
        )
    # testSecret: the pending password logs in
    with postgres.connect(pending["username"], pending["password"]) as connection:
        connection.execute("SELECT now()")
    # finishSecret: AWSCURRENT moves to the new version
    secretsmanager.update_secret_version_stage(
        SecretId=MANAGED, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current["VersionId"]
    )
    return time.time()


@pytest.mark.serial
def test_a_worker_under_watch_reconnects_with_the_rotated_password(
    project: Path, tmp_path: Path, aws: str, create_secret: Create, secretsmanager: Any, postgres: Postgres
) -> None:
    create_secret(MANAGED, {"username": USER, "password": FIRST})
    write(
        project / ".env",
        f"AWS_SECRET_DB={MANAGED}\n"
        f"DATABASE_URL=postgresql://{{{{ DB.username }}}}:{{{{ DB.password | urlencode }}}}"
        f"@127.0.0.1:{postgres.port}/postgres\n",
    )
    write(tmp_path / "worker.py", WORKER)
    log = tmp_path / "connections"
    watch = ["--watch", "--watch-interval", "0.5", "--restart-spread", "0", "--restart-grace", "5"]
    launched = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calitho_env",
            "run",
            "-v",  # a restart is info
            *watch,
            "--",
            sys.executable,
            str(tmp_path / "worker.py"),
            str(log),
        ],
        cwd=project,
        env=aws_env(aws, tmp_path, NODE_ENV="production"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = wait_for_connections(log, 1)
        assert first[0][3] == USER

        moved = rotate_single_user(secretsmanager, postgres, SECOND)
        # What single-user rotation costs: until the restart, a new connection with the old password fails.
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres.url(USER, FIRST), connect_timeout=5).close()

        second = wait_for_connections(log, 2)[1]
        assert second[0] == "connected"
        assert second[2] != first[0][2]  # a new worker process
        assert second[3] == USER
        seconds = float(second[1]) - moved
        print(f"\nAWSCURRENT moved -> new worker's first connection: {seconds:.2f} s")
        assert seconds < 0.5 * 1.1 + 10  # the watch interval, then a restart: nowhere near the default 300 s
    finally:
        launched.send_signal(signal.SIGTERM)
        _, err = launched.communicate(timeout=20)
    assert "restarting" in err
    assert SENTINEL not in err
    assert "%23" not in err  # nor the encoded form
