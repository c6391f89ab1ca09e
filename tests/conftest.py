"""Suite-wide fixtures: real servers on free ports and the shared data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import Mosquitto, mosquitto_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Public PhysioNet/CGM records (HMG_DATA_DIR, default ../shared/data)."""
    path = Path(os.environ.get("HMG_DATA_DIR", REPO.parent / "shared" / "data")).resolve()
    if not (path / "ecg").is_dir():
        pytest.fail(f"data directory {path} missing: set HMG_DATA_DIR (see README)")
    return path


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh Mosquitto with persistence, anonymous access, on a free port."""
    with mosquitto_server(tmp_path / "mosquitto") as server:
        yield server
