"""A Parameter Store path is read within bounds: pages and total size, with a clear error past them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from bench.aws_proxy import AwsProxy
from tests.harness import REGION, SENTINEL, Cli, assert_no_leak, aws_env, write


def test_a_path_whose_answer_never_ends_fails_after_the_page_limit_with_a_clear_error(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, aws: str
) -> None:
    ssm: Any = boto3.client(
        "ssm", region_name=REGION, endpoint_url=aws, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(Name="/app/token", Value=SENTINEL, Type="SecureString")
    proxy.rewrites["GetParametersByPath"] = lambda answer: {**answer, "NextToken": "0"}  # always one more page
    write(project / ".env", "AWS_SSM_PATH_APP=/app/\n")
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=proxy.url)
    result = cli("run", "--timeout", "20", "--", "true", env=env)
    assert "GetParametersByPath still had more after 200 pages" in result.stderr
    assert proxy.calls["GetParametersByPath"] == 200
    assert_no_leak(result)


def test_a_path_larger_than_an_environment_can_carry_fails_with_a_clear_error(
    cli: Cli, project: Path, tmp_path: Path, proxy: AwsProxy, aws: str
) -> None:
    ssm: Any = boto3.client(
        "ssm", region_name=REGION, endpoint_url=aws, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(Name="/app/token", Value=SENTINEL, Type="SecureString")
    big = "x" * (5 << 20)

    def swollen(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "Parameters": [{**p, "Value": SENTINEL + big} for p in answer["Parameters"]]}

    proxy.rewrites["GetParametersByPath"] = swollen
    write(project / ".env", "AWS_SSM_PATH_APP=/app/\n")
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=proxy.url)
    result = cli("run", "--", "true", env=env)
    assert "path /app/ holds more than 4 MiB of names and values" in result.stderr
    assert_no_leak(result)
