"""Smoke test of `hmg demo --duration`: a real process, embedded broker, SQLite, API, cohort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.slow


def test_demo_runs_for_its_duration_and_shows_crisis_and_hypoglycaemia(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--duration",
            "45",
            "--speed",
            "2",
            "--api-port",
            str(free_port()),
            "--broker-port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "devices publish to mqtt://127.0.0.1:" in out
    assert "/docs" in out
    logins = [line.split() for line in out.splitlines() if line.strip().startswith("login")]
    assert [(w[1], w[2]) for w in logins] == [("demo.clinician", "/"), ("demo.admin", "/")]
    assert all(len(w[3]) >= 12 for w in logins)  # a generated password, shown once
    assert "bp.hypertensive_crisis" in out
    assert "glucose.urgent_low" in out
    assert "alerts opened:" in out.splitlines()[-1]
    assert (tmp_path / "demo" / "hmg.db").stat().st_size > 0
