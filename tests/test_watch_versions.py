"""`run --watch`: what a restart starts with, and what the watching says and costs.

Real CLI, real children, moto behind the misbehaving proxy (bench/aws_proxy.py) for stale answers,
per-secret failures and request counts.
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.aws_proxy import AwsProxy, Fault
from tests.harness import SENTINEL, Create, aws_env, base_env, lines, wait_for, write
from tests.test_watch import CHILD, child_command, start, stop
from tests.test_watch_restarts import save

FAST = ["--watch", "--watch-interval", "0.3", "--restart-spread", "0", "--restart-grace", "2"]


def starts(log: Path) -> list[str]:
    """The last part of TOKEN at each start of the child."""
    return [line.split()[2] for line in lines(log) if line.startswith("start")]


def put(secretsmanager: Any, secret_id: str, token: str) -> None:
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"TOKEN": token}))


def test_a_stale_answer_never_restarts_the_child_onto_an_older_value(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-zero"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    write(tmp_path / "child.py", CHILD)
    first: list[dict[str, Any]] = []

    def remember(answer: dict[str, Any]) -> dict[str, Any]:
        first.append(copy.deepcopy(answer))
        return answer

    proxy.rewrites["GetSecretValue"] = remember
    launched = start(project, aws_env(proxy.url, tmp_path, NODE_ENV="production"), "run", *FAST, "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["zero"])
        put(secretsmanager, "calitho-suite/app", f"{SENTINEL}-one")
        wait_for(lambda: starts(tmp_path / "log") == ["zero", "one"])
        proxy.rewrites["GetSecretValue"] = lambda answer: first[0]  # a replica that lags: version zero again
        put(secretsmanager, "calitho-suite/app", f"{SENTINEL}-two")
        time.sleep(2)
        assert starts(tmp_path / "log") == ["zero", "one"]  # held back, not restarted onto zero
        del proxy.rewrites["GetSecretValue"]  # the replica catches up: the next try restarts onto two
        wait_for(lambda: starts(tmp_path / "log") == ["zero", "one", "two"], 15)
    finally:
        _, err = stop(launched)
    assert "not restarting: an older version than DescribeSecret reported" in err
    assert SENTINEL not in err


def test_a_secret_that_cannot_be_described_does_not_stop_the_watching_of_the_others(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/denied", {"OTHER": SENTINEL})
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-one"})
    write(project / ".env", "AWS_SECRET_DENIED=calitho-suite/denied\nAWS_SECRET_APP=calitho-suite/app\n")
    write(tmp_path / "child.py", CHILD)
    proxy.add(Fault("AccessDeniedException", action="DescribeSecret", secret_id="calitho-suite/denied"))
    launched = start(project, aws_env(proxy.url, tmp_path, NODE_ENV="production"), "run", *FAST, "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
        time.sleep(1)  # several intervals: the failing secret is warned about once
        put(secretsmanager, "calitho-suite/app", f"{SENTINEL}-two")
        wait_for(lambda: starts(tmp_path / "log") == ["one", "two"])
    finally:
        _, err = stop(launched)
    assert err.count("could not ask for new versions of") == 1
    assert "calitho-suite/denied" in err
    assert SENTINEL not in err


def test_while_the_re_resolution_keeps_failing_it_backs_off(
    project: Path, tmp_path: Path, proxy: AwsProxy, create_secret: Create, secretsmanager: Any
) -> None:
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    write(tmp_path / "child.py", CHILD)
    interval = ["--watch", "--watch-interval", "0.5", "--restart-spread", "0"]
    launched = start(project, aws_env(proxy.url, tmp_path, NODE_ENV="production"), "run", *interval, "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
        proxy.add(Fault("AccessDeniedException", action="GetSecretValue"))  # one call each, no SDK retries
        proxy.reset_counts()
        put(secretsmanager, "calitho-suite/app", f"{SENTINEL}-two")
        time.sleep(6)
        calls = dict(proxy.calls)
    finally:
        _, err = stop(launched)
    # Without backoff: one re-resolution every 0.5 s, about 12. With it: after 0.5, 1, 2 and 4 s.
    assert 1 <= calls.get("GetSecretValue", 0) <= 4
    assert calls.get("DescribeSecret", 0) <= 5
    assert starts(tmp_path / "log") == ["one"]
    assert "not restarting" in err
    assert SENTINEL not in err


def test_a_re_resolution_reports_its_notices_as_a_launch_does(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "child.py", CHILD)
    write(project / ".env.development", "TOKEN=dev-one\n")
    launched = start(project, base_env(tmp_path), "run", "--watch", "--watch-interval", "0.2", "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
        save(project / ".env.development", "TOKEN=dev-two\nthis is not a line\n")
        wait_for(lambda: starts(tmp_path / "log") == ["one", "two"])
    finally:
        _, err = stop(launched)
    assert ".env.development:2: python-dotenv cannot parse this line" in err


def test_an_edit_that_keeps_the_size_and_the_modification_time_is_seen(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "child.py", CHILD)
    env_file = write(project / ".env.development", "TOKEN=dev-one\n")
    launched = start(project, base_env(tmp_path), "run", "--watch", "--watch-interval", "0.2", "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
        before = env_file.stat()
        save(env_file, "TOKEN=dev-six\n")  # the same size
        os.utime(env_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same time
        wait_for(lambda: starts(tmp_path / "log") == ["one", "six"])
    finally:
        code, _ = stop(launched)
    assert code == 0


def test_verbose_says_what_is_watched_how_often_and_what_it_costs(
    project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/app", {"TOKEN": f"{SENTINEL}-one"})
    write(project / ".env", "AWS_SECRET_APP=calitho-suite/app\n")
    write(tmp_path / "child.py", CHILD)
    launched = start(project, aws_env(aws, tmp_path, NODE_ENV="production"), "run", "-v", "--watch", "--",
                     *child_command(tmp_path))  # fmt: skip
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
    finally:
        _, err = stop(launched)
    assert "watching 1 secret(s) and parameter(s) for a new version every 300 s" in err
    assert "12 DescribeSecret calls an hour, $0.0001 an hour" in err
    assert SENTINEL not in err


def test_a_new_parameter_version_restarts_the_child(project: Path, tmp_path: Path, proxy: AwsProxy, aws: str) -> None:
    import boto3

    ssm: Any = boto3.client(
        "ssm", region_name="us-west-1", endpoint_url=aws, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(Name="/app/token", Value=f"{SENTINEL}-one", Type="SecureString")
    write(project / ".env", "TOKEN=arn:aws:ssm:us-west-1:123456789012:parameter/app/token\n")
    write(tmp_path / "child.py", CHILD)
    env = aws_env(proxy.url, tmp_path, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=proxy.url)
    launched = start(project, env, "run", *FAST, "--", *child_command(tmp_path))
    try:
        wait_for(lambda: starts(tmp_path / "log") == ["one"])
        ssm.put_parameter(Name="/app/token", Value=f"{SENTINEL}-two", Type="SecureString", Overwrite=True)
        wait_for(lambda: starts(tmp_path / "log") == ["one", "two"])
    finally:
        _, err = stop(launched)
    assert SENTINEL not in err
