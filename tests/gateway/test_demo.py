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
    assert [(w[1], w[2]) for w in logins] == [
        ("demo.clinician", "/"),
        ("demo.admin", "/"),
        ("demo.cardiologist", "/"),
    ]
    assert all(len(w[3]) >= 12 for w in logins)  # a generated password, shown once
    assert "bp.hypertensive_crisis" in out
    assert "glucose.urgent_low" in out
    assert "emergency.sos" in out  # the cohort's SOS press and fall, a minute in
    assert "emergency.fall" in out
    assert "alerts opened:" in out.splitlines()[-1]
    assert (tmp_path / "demo" / "hmg.db").stat().st_size > 0


def test_ctrl_c_stops_the_demo_within_five_seconds_with_a_page_listening(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import time

    import httpx

    api = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--api-port", str(api), "--broker-port",
         str(free_port()), "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()
            assert line, f"demo ended early: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line)
        login = next(line.split() for line in lines if line.strip().startswith("login"))
        base = f"http://127.0.0.1:{api}"
        token = httpx.post(
            f"{base}/auth/token",
            data={"grant_type": "password", "username": login[1], "password": login[3]},
        ).json()["access_token"]
        with httpx.stream(
            "GET", f"{base}/stream/alerts", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as live:
            assert live.status_code == 200
            next(live.iter_text())  # the page is listening
            os.kill(proc.pid, signal.SIGINT)
            t0 = time.monotonic()
            proc.wait(timeout=30)
            took = time.monotonic() - t0
        assert took < 5.0, f"the demo took {took:.1f} s to stop"
        assert proc.returncode == 0
        assert re.search(r"alerts opened:", proc.stdout.read())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
