"""Fixtures: a real moto server over HTTP, temp project folders, a clean AWS environment."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from bench.aws_proxy import AwsProxy
from tests.harness import REGION, Launch, aws_env, launch


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str) -> str:
    """A fresh, empty moto backend for each test."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    return moto_endpoint


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def prod_env(aws: str, tmp_path: Path) -> dict[str, str]:
    """Production mode against the moto server."""
    return aws_env(aws, tmp_path, NODE_ENV="production")


@pytest.fixture
def secretsmanager(aws: str) -> Any:
    return boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=aws,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def ssm(aws: str) -> Any:
    """Parameter Store on the same moto server."""
    return boto3.client(
        "ssm", region_name=REGION, endpoint_url=aws, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def create_secret(secretsmanager: Any) -> Callable[[str, object], str]:
    """Create a secret whose SecretString is `value` (JSON-encoded unless already a str); returns its ARN."""

    def create(name: str, value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        arn: str = secretsmanager.create_secret(Name=name, SecretString=text)["ARN"]
        return arn

    return create


@pytest.fixture
def cli(project: Path) -> Callable[..., Launch]:
    """Run the real CLI in the project folder."""

    def run(*args: str, env: dict[str, str], cwd: Path | None = None, **kwargs: Any) -> Launch:
        return launch(args, env, cwd or project, **kwargs)

    return run


@pytest.fixture
def proxy(aws: str) -> Iterator[AwsProxy]:
    """A misbehaving front door to the moto server; point AWS_ENDPOINT_URL_SECRETS_MANAGER at proxy.url."""
    front = AwsProxy(aws)
    yield front
    front.close()


@pytest.fixture
def container_credentials() -> Iterator[tuple[str, list[str]]]:
    """An ECS-style credentials endpoint on loopback; records the Authorization header of each call."""
    calls: list[str] = []
    expiration = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(self.headers.get("Authorization", ""))
            body = json.dumps(
                {
                    "AccessKeyId": "ASIACONTAINER",
                    "SecretAccessKey": "container-secret",
                    "Token": "container-token",
                    "Expiration": expiration,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2/credentials", calls
    server.shutdown()
    server.server_close()


@pytest.fixture
def clean_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For in-process tests: none of the developer's AWS_* settings, us-west-1, no metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_REGION", "us-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def in_process_aws(clean_aws_environment: None) -> Iterator[None]:
    """moto's mock_aws: botocore in this process talks to an in-memory Secrets Manager."""
    with mock_aws():
        yield
