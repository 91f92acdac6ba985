"""`make demo`: the launcher's main job, end to end, against a local Secrets Manager stand-in.

Starts moto's server on 127.0.0.1, creates Calitho Suite's three secrets, writes a demo .env,
then runs a Python worker and a Node.js service through the real CLI in development,
in production, and in production with the server stopped (fallback). Leaves nothing running.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

EXAMPLES = Path(__file__).resolve().parent
LAUNCHER = [sys.executable, "-m", "calitho_env"]
REGION = "us-west-1"
SECRETS = {
    "calitho-suite/database": {"DATABASE_URL": "postgresql://calitho:prod-password@db.internal:5432/calitho"},
    "calitho-suite/nextauth": {"NEXTAUTH_SECRET": "prod-nextauth-jwt-secret"},
    "calitho-suite/redis": {"REDIS_URL": "redis://cache.internal:6379"},
}
# The safe layout: the mappings in .env (every mode reads it), the development values in
# .env.development (production never reads it, so it can never fall back to them).
DEMO_ENV = """\
# AWS Secrets Manager (fetched in production)
AWS_SECRET_DATABASE=calitho-suite/database
AWS_SECRET_NEXTAUTH=calitho-suite/nextauth
AWS_SECRET_REDIS=calitho-suite/redis
"""
DEMO_ENV_DEVELOPMENT = """\
DATABASE_URL=postgresql://localhost:5432/calitho_dev
NEXTAUTH_SECRET=dev-only-secret
REDIS_URL=redis://localhost:6379
"""


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def launch(args: list[str], env: dict[str, str], cwd: Path, exit_code: int = 0) -> str:
    """Run a command through the real CLI; show and return its output."""
    print("$ calitho-env " + " ".join(args), flush=True)
    completed = subprocess.run(LAUNCHER + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    sys.stdout.write(completed.stdout)
    sys.stdout.write("".join(f"  (stderr) {line}\n" for line in completed.stderr.splitlines()))
    if completed.returncode != exit_code:
        raise SystemExit(f"demo failed: exit {completed.returncode}, expected {exit_code}")
    if exit_code:
        print(f"  (exit {completed.returncode})")
    return completed.stdout + completed.stderr


def expect(output: str, *fragments: str) -> None:
    missing = [fragment for fragment in fragments if fragment not in output]
    if missing:
        raise SystemExit(f"demo failed: expected {missing}")


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="calitho-demo-") as folder:
            app = Path(folder)
            run_demo(app, endpoint, server)
    finally:
        server.stop()  # stopping twice is harmless
    print("\ndemo finished: development, production and the failure case all behaved as documented.")


def run_demo(app: Path, endpoint: str, server: ThreadedMotoServer) -> None:
    aws = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": REGION}
    step(f"Local Secrets Manager (moto) on {endpoint}: creating Calitho Suite's three secrets")
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",
    )
    for name, value in SECRETS.items():
        client.create_secret(Name=name, Description="calitho-env demo", SecretString=json.dumps(value))
        print(f"  created {name} with keys {', '.join(value)}")
    (app / ".env").write_text(DEMO_ENV)
    (app / ".env.development").write_text(DEMO_ENV_DEVELOPMENT)
    shutil.copytree(EXAMPLES / "node-service", app / "node-service")
    print(f"  wrote {app / '.env'} (the mappings) and {app / '.env.development'} (development values)")

    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(app)),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(app / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(app / "none"),
        **aws,
    }
    worker = ["run", "--", sys.executable, str(EXAMPLES / "worker.py")]

    step("Development (NODE_ENV unset): values come from .env.development; no AWS call is made")
    expect(launch(worker, env, app), "DATABASE_URL=postgresql://localhost:5432/calitho_dev")

    production = {**env, "NODE_ENV": "production"}
    step("Production (NODE_ENV=production): values come from Secrets Manager")
    expect(launch(["-v", *worker], production, app), "prod-nextauth-jwt-secret", "fetched aws:calitho-suite/redis@")
    expect(
        launch(["run", "--", "npm", "start", "--silent", "--prefix", str(app / "node-service")], production, app),
        "node service sees REDIS_URL=redis://cache.internal:6379",
    )
    launch(["print", "--format", "table"], production, app)

    step("Production with the stand-in stopped: no development value can stand in, and --require refuses to start")
    server.stop()
    fallback = launch(["run", "--timeout", "3", *worker[1:]], production, app)
    expect(fallback, "warning: secret calitho-suite/database could not be fetched", "DATABASE_URL=<unset>")
    refused = launch(["run", "--timeout", "3", "--require", "DATABASE_URL", *worker[1:]], production, app, 78)
    expect(refused, "required variable(s) missing or empty: DATABASE_URL")


if __name__ == "__main__":
    main()
