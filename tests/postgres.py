"""A real PostgreSQL server for the tests: the binaries the `pgserver` wheel ships, a cluster in a
temporary folder, listening on 127.0.0.1 on a free port, with password (SCRAM) logins only."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

NOBODY = 65534  # initdb and postgres refuse to run as root: as root, the server runs as nobody


def server_installation() -> Path:
    """The folder with PostgreSQL's bin/, lib/ and share/, as the pgserver wheel ships them."""
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None, "pgserver is a dev dependency: make install"
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Postgres:
    port: int
    superuser_password: str

    def url(self, user: str, password: str, database: str = "postgres") -> str:
        from urllib.parse import quote

        return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"

    def connect(self, user: str, password: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=user, password=password, dbname="postgres", connect_timeout=5
        )

    def create_role(self, user: str, password: str) -> None:
        with self.connect("postgres", self.superuser_password) as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
            )


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """initdb, start, wait until it answers; stop and remove everything afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="calitho-pg-"))
    as_root = os.geteuid() == 0
    user: dict[str, Any] = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if as_root else {}
    binaries = server_installation() / "bin"
    if as_root:
        os.chown(folder, NOBODY, NOBODY)
        # nobody may not reach the virtualenv (a clone under /root): it runs a copy in its own folder,
        # with the wheel's shared libraries where the binaries' rpath ($ORIGIN/../../../pgserver.libs) looks
        installed = server_installation()
        for part in (installed, installed.parent.parent / "pgserver.libs"):
            shutil.copytree(part, folder / "copy" / part.relative_to(installed.parent.parent), symlinks=True)
        binaries = folder / "copy" / "pgserver" / "pginstall" / "bin"
    password = "superuser-" + os.urandom(8).hex()
    (folder / "pw").write_text(password)
    if as_root:
        os.chown(folder / "pw", NOBODY, NOBODY)
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "HOME": str(folder)}
    initdb = [str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "postgres", f"--pwfile={folder / 'pw'}"]
    subprocess.run(
        [*initdb, "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        **user,
    )
    port = _free_port()
    listen = ["-p", str(port), "-h", "127.0.0.1", "-k", str(folder)]  # the socket folder must be the server's
    server = subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(folder / "data"), *listen, "-c", "fsync=off"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **user,
    )
    try:
        postgres = Postgres(port, password)
        deadline = time.monotonic() + 30
        while True:
            try:
                postgres.connect("postgres", password).close()
                break
            except psycopg.OperationalError:
                assert server.poll() is None, "postgres exited at start"
                assert time.monotonic() < deadline, "postgres did not answer within 30 s"
                time.sleep(0.1)
        yield postgres
    finally:
        server.terminate()  # smart shutdown: the tests' connections are gone by now
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
