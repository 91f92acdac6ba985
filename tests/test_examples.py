"""The examples work: `make demo` runs its whole story and leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(subprocess.run(["which", "npm"], capture_output=True).returncode != 0, reason="npm missing")
def test_the_demo_shows_development_production_and_fallback() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "python worker sees DATABASE_URL=postgresql://localhost:5432/calitho_dev" in completed.stdout
    assert "node service sees REDIS_URL=redis://cache.internal:6379" in completed.stdout
    assert "warning: secret calitho-suite/redis could not be fetched (EndpointConnectionError" in completed.stdout
