"""The benchmark keeps working: `make test` runs it once, with one repetition (no timing is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import instructions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.serial
def test_the_benchmark_runs_and_counts_one_get_secret_value_per_secret(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--repetitions",
            "1",
            "--sizes",
            "1,3,20",
            "--output",
            str(output),
            "--no-instructions",
            "--watch-seconds",
            "2",
            "--fleet-sizes",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    text = output.read_text()
    for row in ("| `calitho-env run -- true` |", "| calitho-env, N=20 |", "| naive boto3, N=20 |", "| floor: "):
        assert row in text
    assert "| calitho-env, N=20 | 20 | 0 | 0 |" in text  # twenty GetSecretValue calls and no other call
    assert "| calitho-env --batch, N=20 | 0 | 1 | 0 |" in text
    assert "exactly one GetSecretValue per secret and no other call: met" in text
    assert "with --batch, one BatchGetSecretValue per 20 secrets and no other call: met" in text
    assert "| Secrets Manager | 40/s, burst 40 | 5 | 5 |" in text  # five launches, five started with their values
    assert "| Parameter Store | 40/s, burst 40 | 5 | 5 |" in text


@pytest.mark.serial
@pytest.mark.skipif(not instructions.available(), reason="needs valgrind")
def test_instruction_counts_stop_at_the_exec_and_repeat_exactly(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    # `false` would exit 1 if it were exec'd; counting stops just before, with exit status 0.
    arguments = instructions.until_exec(str(Path(sys.executable).parent / "calitho-env"), "run", "--", "false")
    first = instructions.counts(sys.executable, {"run": arguments}, env, tmp_path)["run"]
    assert first == instructions.count(sys.executable, arguments, env, tmp_path)
