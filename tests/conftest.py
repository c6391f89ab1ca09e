"""Suite-wide fixtures: real servers on free ports and the shared data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.influx import InfluxD, VictoriaMetrics, influxd_server, victoria_server
from tests.support.postgres import migrate, throwaway_database, truncate_all
from tests.support.provider import Provider, local_provider
from tests.support.servers import Mosquitto, mosquitto_server

REPO = Path(__file__).resolve().parent.parent

# Property tests check what the code does, not how fast: on a loaded machine one example can take
# longer than hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("hmg", deadline=None)
settings.load_profile("hmg")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Public PhysioNet/CGM records (HMG_RECORDS, default ../shared/data)."""
    path = Path(os.environ.get("HMG_RECORDS", REPO.parent / "shared" / "data")).resolve()
    if not (path / "ecg").is_dir():
        pytest.fail(f"data directory {path} missing: set HMG_RECORDS (see README)")
    return path


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh Mosquitto with persistence, anonymous access, on a free port."""
    with mosquitto_server(tmp_path / "mosquitto") as server:
        yield server


@pytest.fixture
def provider() -> Iterator[Provider]:
    """A local SMS/e-mail provider that records every message posted to it."""
    with local_provider() as p:
        yield p


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throwaway PostgreSQL database for the session (`hmg_test_<random>`, dropped at the end),
    migrated with Alembic to `head`."""
    try:
        with throwaway_database() as url:
            migrate(url)
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def pg(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    truncate_all(pg_database)
    return pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The relational store on each backend: a fresh SQLite file, or the session PostgreSQL
    database emptied for this test."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hmg.db'}"
    url: str = request.getfixturevalue("pg_database")
    truncate_all(url)
    return url


@pytest.fixture(scope="session")
def influxd_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxD]:
    """One InfluxDB 1.x for the session; tests use their own database in it."""
    with influxd_server(tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[InfluxD]:
    """A private InfluxDB 1.x (for tests that stop and restart it)."""
    with influxd_server(tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """VictoriaMetrics serving the InfluxDB v2 write API on a free port."""
    with victoria_server(tmp_path / "victoria") as server:
        yield server
