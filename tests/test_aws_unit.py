"""calitho_env.aws in-process against moto's mock_aws: outcomes, versions, errors, batching."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from calitho_env.aws.fetch import fetch_all, groups
from calitho_env.core.fetched import FetchedSecret, FetchFailure
from calitho_env.core.secret_requests import SecretRequest


@pytest.fixture
def in_memory(in_process_aws: None) -> Any:
    return boto3.client("secretsmanager", region_name="us-west-1")


def test_each_request_gets_its_secret_string_and_version(in_memory: Any) -> None:
    created = in_memory.create_secret(Name="a", SecretString=json.dumps({"A": "1"}))
    (result,) = fetch_all([SecretRequest("a")], timeout=5)
    assert result.outcome == FetchedSecret("a", created["VersionId"], '{"A": "1"}')
    assert result.elapsed_ms >= 0


def test_a_missing_secret_is_a_failure_with_the_aws_code(in_memory: Any) -> None:
    (result,) = fetch_all([SecretRequest("missing")], timeout=5)
    assert isinstance(result.outcome, FetchFailure)
    assert result.outcome.code == "ResourceNotFoundException"
    assert "verify the secret name" in result.outcome.hint


def test_the_previous_version_is_fetched_by_stage(in_memory: Any) -> None:
    in_memory.create_secret(Name="v", SecretString="old")
    in_memory.put_secret_value(SecretId="v", SecretString="new")
    current, previous = fetch_all([SecretRequest("v"), SecretRequest("v", version_stage="AWSPREVIOUS")], timeout=5)
    assert isinstance(current.outcome, FetchedSecret)
    assert isinstance(previous.outcome, FetchedSecret)
    assert (current.outcome.secret_string, previous.outcome.secret_string) == ("new", "old")


def test_results_come_back_in_request_order_with_batching(in_memory: Any) -> None:
    for index in range(23):
        in_memory.create_secret(Name=f"s{index}", SecretString=str(index))
    requests = [SecretRequest(f"s{index}") for index in reversed(range(23))] + [SecretRequest("gone")]
    results = fetch_all(requests, timeout=10, batch=True)
    assert [r.request for r in results] == requests
    assert [r.outcome.secret_string for r in results[:-1] if isinstance(r.outcome, FetchedSecret)] == [
        str(index) for index in reversed(range(23))
    ]
    assert isinstance(results[-1].outcome, FetchFailure)


def test_batches_hold_twenty_current_versions_of_one_region() -> None:
    requests = [SecretRequest(f"s{i}") for i in range(45)] + [
        SecretRequest("pinned", version_stage="AWSPREVIOUS"),
        SecretRequest("arn:aws:in_memory:eu-west-1:123456789012:secret:x", region="eu-west-1"),
    ]
    planned = groups(requests, batch=True)
    assert sorted(len(group) for _, group in planned) == [1, 1, 5, 20, 20]
    assert [len(group) for _, group in groups(requests, batch=False)] == [1] * 47


def test_no_credentials_is_reported_as_no_credentials(clean_aws_environment: None) -> None:
    (result,) = fetch_all([SecretRequest("a")], timeout=5)
    assert isinstance(result.outcome, FetchFailure)
    assert result.outcome.code == "NoCredentials"


def test_botocore_still_asks_the_loader_method_we_override(
    in_process_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If botocore renamed list_available_services, the scan we skip would silently come back."""
    from calitho_env.aws.session import AwsSession, KnownServicesLoader

    asked: list[str] = []
    original = KnownServicesLoader.list_available_services

    def recording(self: KnownServicesLoader, type_name: str) -> list[str]:
        asked.append(type_name)
        return original(self, type_name)

    monkeypatch.setattr(KnownServicesLoader, "list_available_services", recording)
    AwsSession(timeout=5).secretsmanager()
    assert asked, "botocore no longer calls Loader.list_available_services when it creates a client"
