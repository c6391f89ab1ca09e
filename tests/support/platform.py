"""The FHIR-validating receiver (`tests.support.fhir_receiver`) as a fixture's process."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port, stop_process, wait_port

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID, SECRET = "hmg-gateway", "platform-secret-for-tests"


@dataclass
class Platform:
    db: Path
    hold_first: int = 0
    hold_s: float = 0.0
    fail_first: int = 0
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The gateway's `HMG_PLATFORM_*` settings for this receiver."""
        return {
            "HMG_PLATFORM_URL": f"http://127.0.0.1:{self.port}/fhir",
            "HMG_PLATFORM_TOKEN_URL": f"http://127.0.0.1:{self.port}/token",
            "HMG_PLATFORM_CLIENT_ID": CLIENT_ID,
            "HMG_PLATFORM_CLIENT_SECRET": SECRET,
            "HMG_PLATFORM_INTERVAL_S": "0.2",
            "HMG_PLATFORM_MAX_BACKOFF_S": "1",
        }

    def start(self) -> Platform:
        args = [str(self.port), str(self.db), CLIENT_ID, SECRET]
        args += [str(self.hold_first), str(self.hold_s), str(self.fail_first)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fhir_receiver", *args], cwd=REPO
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        stop_process(self.proc)

    def stats(self) -> dict[str, Any]:
        doc: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=5).json()
        return doc

    def read(self, path: str) -> dict[str, Any] | None:
        r = httpx.get(f"http://127.0.0.1:{self.port}/fhir/{path}", timeout=5)
        return r.json() if r.status_code == 200 else None

    def wait_for(self, want: dict[str, int], seconds: float = 30.0) -> dict[str, Any]:
        """Stats once at least `want` resources of each type are stored."""
        deadline = time.monotonic() + seconds
        while True:
            stats = self.stats()
            if all(stats["resources"].get(k, 0) >= n for k, n in want.items()):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"platform holds {stats['resources']}, want {want}")
            time.sleep(0.1)
