"""The record is shared and the results told when the readings live in InfluxDB: the gateway
stores readings in a real InfluxDB 1.x, numbers the vital signs in its reading journal, and the
platform push (to the FHIR-validating receiver) and the kiosk results notices follow that journal
as they follow the SQL readings table; what both have read is pruned from the journal."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.roster import Contact, Member
from devices.model import PatientKey, utcnow
from devices.registry import Device
from gateway.actor import Actor, Role
from gateway.fhir.consent import record_consent
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.consents import ConsentStatus
from gateway.storage.influx import InfluxReadingStore
from gateway.storage.journal import JournalledStore
from gateway.storage.notices import NoticeStore
from simulator.wire import DeviceWire
from tests.support.influx import InfluxD
from tests.support.platform import Platform
from tests.support.provider import Provider
from tests.support.record import seed_record
from tests.support.wire import v1

pytestmark = pytest.mark.integration

DR = Actor(user="dr.li", role=Role.CLINICIAN, tenant="t1", client="tests")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(tmp_path / "platform.db").start()
    yield p
    p.stop()


@pytest.fixture
async def gw(
    tmp_path: Path,
    influxd_shared: InfluxD,
    platform: Platform,
    provider: Provider,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Gateway]:
    for k, v in platform.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HMG_FOLLOWUP_ENABLED", "false")
    monkeypatch.setenv("HMG_RESULTS_QUIET_S", "0")
    monkeypatch.setenv("HMG_RESULTS_INTERVAL_S", "0.1")
    settings = Settings(
        mode="test", data_dir=tmp_path / "gw", readings_backend="influx",
        influx_url=influxd_shared.url, influx_database=f"hmg_{secrets.token_hex(4)}",
        retention_interval_s=0, sms_url=provider.url("sms"), email_url=provider.url("email"),
    )  # fmt: skip
    g = Gateway(settings)
    await g.start(mqtt=False)
    yield g
    await g.stop()


async def _bp(g: Gateway, seq: int, systolic: int) -> None:
    data = {"systolic": systolic, "diastolic": 80, "unit": "mmHg"}
    now = utcnow()
    await g.pipeline.handle(
        [Inbound("hm/v1/t1/cuff-p-1/bp", v1("cuff-p-1", "bp", seq, data, now), now)]
    )


async def test_readings_in_influx_are_pushed_and_told_and_the_journal_is_pruned(
    gw: Gateway, platform: Platform, provider: Provider
) -> None:
    assert isinstance(gw.readings, JournalledStore)
    assert isinstance(gw.readings.inner, InfluxReadingStore)
    assert gw.platform is not None
    assert gw.results is not None
    await seed_record(gw, utcnow(), "p-1")
    # The record read back from InfluxDB goes at once when consent is recorded.
    await record_consent(gw, DR, "p-1", ConsentStatus.ACTIVE, "signed at the clinic")
    want = {"Patient": 1, "Device": 2, "Consent": 1, "Observation": 4, "Bundle": 1}
    await asyncio.to_thread(platform.wait_for, want)
    # A new reading follows through the journal.
    await _bp(gw, 10, 150)
    await asyncio.to_thread(platform.wait_for, {"Observation": 5})
    obs = platform.read("Observation/cuff-p-1-10")
    assert obs is not None
    assert obs["component"][0]["valueQuantity"]["value"] == 150
    # Withdrawn: the next reading is journaled, stored, and not shared.
    await record_consent(gw, DR, "p-1", ConsentStatus.WITHDRAWN, None)
    await _bp(gw, 11, 151)
    stored = await gw.readings.query(PatientKey("t1", "p-1"), None, utcnow() - timedelta(hours=1),
                                     utcnow() + timedelta(minutes=1))  # fmt: skip
    assert 11 in {r.seq for r in stored}  # in InfluxDB
    await asyncio.sleep(1.0)  # several gathering steps
    assert platform.read("Observation/cuff-p-1-11") is None
    # A kiosk visit, stored in InfluxDB, is told to the elder through the journal too.
    kiosk = Device("kiosk-1", "t1", "kiosk", kiosk=True)
    await gw.stores.patients.save_device(kiosk, utcnow())
    gw.registry.put(kiosk)
    elder = Member(
        "p-1-self", "t1", "Elder", role="self", contacts=(Contact("sms", "+8613800000001"),)
    )
    await gw.stores.rosters.set_emergency_contacts(PatientKey("t1", "p-1"), [elder])
    wire = DeviceWire("t1", "kiosk-1", kiosk=True)
    at = utcnow() - timedelta(minutes=5)
    visit = [
        wire.bp(at, 126, 78, 70, patient="p-1"),
        wire.glucose(at + timedelta(minutes=1), 5.4, "fingerstick", "fasting", "p-1"),
    ]
    await gw.pipeline.handle([Inbound(m.topic, m.payload, utcnow()) for m in visit])
    store = NoticeStore(gw.db)
    for _ in range(300):
        found = await store.query("t1", patient_id="p-1")
        if found and found[0].delivered_at is not None:
            break
        await asyncio.sleep(0.05)
    (notice,) = await store.query("t1", patient_id="p-1")
    assert (notice.source, notice.delivered_to) == ("kiosk", "sms:+8613800000001")
    assert "Blood pressure 126/78 mmHg" in notice.texts["en"]["body"]
    assert [p for p, _ in provider.messages()] == ["/sms/+8613800000001"]
    # Both followers have read everything: the journal lets it go.
    journal = gw.runtime.journal
    assert journal is not None
    top = await journal.top()
    assert top >= 8  # 3 + 1 seeded, 2 BP, the visit's 2
    for _ in range(100):
        if (
            min([await gw.stores.progress.get(s) for s in ("platform.push", "results.notice")])
            >= top
        ):
            break
        await asyncio.sleep(0.05)
    followers = ["platform.push", "results.notice"]
    assert await journal.prune(gw.stores.progress, followers, now=utcnow()) == top
    assert await journal.stored_after(0, 10) == []
