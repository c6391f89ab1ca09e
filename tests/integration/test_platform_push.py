"""The record's push survives a SIGKILLed gateway: the real gateway process pushes three elders'
records to the FHIR-validating platform process and is killed while the platform holds the
first transaction it has already applied; after a restart every resource is on the platform
exactly once (the resent transaction updated what it had created), nothing is missing, and every
push has its audit row. Once with the readings in SQL, once in a real InfluxDB (the pushes then
follow the reading journal)."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest

from devices.model import utcnow
from gateway.actor import Actor, Role
from gateway.fhir.consent import record_consent
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.consents import ConsentStatus
from tests.integration.test_faults import GatewayProcess, wait_until
from tests.support.influx import InfluxD
from tests.support.platform import Platform
from tests.support.record import seed_record
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ELDERS = ("p-1", "p-2", "p-3")
READINGS = 40  # BP readings per elder (plus one glucose): 5 pushes of 10 observations each


def _backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The readings backend's settings (field -> value) for the test's parameter."""
    if request.param == "sql":
        return {}
    influxd: InfluxD = request.getfixturevalue("influxd_shared")
    db = f"hmg_{secrets.token_hex(4)}"
    return {"readings_backend": "influx", "influx_url": influxd.url, "influx_database": db}


@pytest.fixture(params=["sql", "influx"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    return _backend(request)


async def _seed(data_dir: Path, backend: dict[str, str]) -> None:
    gw = Gateway(Settings(mode="test", data_dir=data_dir, **backend))
    await gw.start(mqtt=False)
    dr = Actor(user="dr.li", role=Role.CLINICIAN, tenant="t1", client="tests")
    for pid in ELDERS:
        await seed_record(gw, utcnow(), pid, readings=READINGS)
        await record_consent(gw, dr, pid, ConsentStatus.ACTIVE, "signed at the clinic")
    await gw.stop()


async def _audited(data_dir: Path) -> list[str]:
    gw = Gateway(Settings(mode="test", data_dir=data_dir))
    await gw.db.create_schema()
    try:
        return [e.action for e in await gw.stores.audit.entries(limit=5000)]
    finally:
        await gw.db.dispose()


def test_kill_mid_push_then_restart_delivers_every_resource_once(
    mosquitto: Mosquitto, tmp_path: Path, backend: dict[str, str]
) -> None:
    data_dir = tmp_path / "gw"
    data_dir.mkdir()
    asyncio.run(_seed(data_dir, backend))
    platform = Platform(tmp_path / "platform.db", hold_first=1, hold_s=8.0).start()
    gw = GatewayProcess(mosquitto, data_dir)
    gw.env.update(platform.env)
    gw.env["HMG_PLATFORM_BATCH_MAX"] = "10"
    gw.env.update({f"HMG_{k.upper()}": v for k, v in backend.items()})
    try:
        gw.start()
        wait_until(lambda: platform.stats()["transactions"] >= 1, 60, "the first push applied")
        time.sleep(0.5)  # the platform has applied it and holds the answer
        gw.kill()
        held = platform.stats()
        assert held["resources"].get("Observation", 0) <= 10  # only the first push got there
        gw.start()
        per_elder = READINGS + 1
        stats = platform.wait_for(
            {"Patient": 3, "Device": 6, "Consent": 3, "Observation": 3 * per_elder, "Bundle": 3},
            90,
        )
    finally:
        gw.terminate()
        platform.stop()
    # Exactly what the elders have, each resource once.
    assert stats["resources"] == {
        "Patient": 3, "Device": 6, "Consent": 3, "Observation": 3 * per_elder, "Bundle": 3,
    }  # fmt: skip
    # The transaction applied before the kill came again after the restart, under the same
    # delivery id, and changed nothing but versions.
    first = [k for k, n in stats["received"].items() if k.startswith("Observation/") and n >= 2]
    assert first, "the held push was not sent again"
    assert all(stats["requests"][k] == 1 for k in first)
    audited = asyncio.run(_audited(data_dir))
    assert audited.count("consent.record") == 3
    # 5 pushes per elder, each audited when delivered (the held one possibly twice).
    assert audited.count("platform.push.delivered") >= 15
