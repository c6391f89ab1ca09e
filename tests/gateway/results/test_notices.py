"""Results back to the elder and family: a kiosk visit of the simulator's kiosk yields one
notice per elder, in zh-CN and English, delivered by SMS (the first contact) and recorded; a
contact that cannot be reached is tried again and raises a technical alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from alerts.roster import Contact, Member
from devices.model import PatientKey, utcnow
from devices.registry import Binding, Device
from gateway.api.app import create_app
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.notices import NoticeState, NoticeStore
from gateway.storage.patients import Patient
from simulator.wire import DeviceWire
from tests.support.auth import auth_headers
from tests.support.provider import Provider

ELDERS = ("p-1", "p-2", "p-3")


@pytest.fixture
async def gw(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("HMG_FOLLOWUP_ENABLED", "false")
    monkeypatch.setenv("HMG_RESULTS_QUIET_S", "0")
    monkeypatch.setenv("HMG_RESULTS_INTERVAL_S", "0.1")
    monkeypatch.setenv("HMG_RESULTS_TENANTS", '{"t1": 0.5}')  # told within 12 hours
    settings = Settings(mode="test", data_dir=tmp_path, sms_url=provider.url("sms"),
                        email_url=provider.url("email"))  # fmt: skip
    g = Gateway(settings)
    await g.start(mqtt=False)
    assert g.results is not None
    now = utcnow()
    kiosk = Device("kiosk-1", "t1", "kiosk", kiosk=True)
    await g.stores.patients.save_device(kiosk, now)
    g.registry.put(kiosk)
    for i, pid in enumerate(ELDERS):
        await g.stores.patients.save_patient(Patient(pid, "t1", now))
        g.registry.admit(pid, "t1")
        family = [
            Member(f"{pid}-self", "t1", "Elder", role="self", lang="zh-CN",
                   contacts=(Contact("sms", f"+861380000000{i}"),)),
            Member(f"{pid}-son", "t1", "Son", role="son", lang="en",
                   contacts=(Contact("email", f"son{i}@example.org"),)),
        ]  # fmt: skip
        await g.stores.rosters.set_emergency_contacts(PatientKey("t1", pid), family)
    yield g
    await g.stop()


async def _visits(g: Gateway, elders: tuple[str, ...], high: bool = False) -> None:
    """Each elder's visit at the simulator's kiosk: BP, then glucose a minute later."""
    wire = DeviceWire("t1", "kiosk-1", kiosk=True)
    start = utcnow() - timedelta(minutes=20)
    msgs = []
    for k, pid in enumerate(elders):
        at = start + timedelta(minutes=3 * k)
        msgs.append(wire.bp(at, 162 if high else 128, 96 if high else 79, 72, patient=pid))
        msgs.append(wire.glucose(at + timedelta(minutes=1), 5.6, "fingerstick", "fasting", pid))
    await g.pipeline.handle([Inbound(m.topic, m.payload, utcnow()) for m in msgs])


async def _until(pred: object, seconds: float = 15.0) -> None:
    assert callable(pred)
    for _ in range(int(seconds / 0.05)):
        if await pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_kiosk_visit_tells_each_elder_once_in_both_languages(
    gw: Gateway, provider: Provider
) -> None:
    await _visits(gw, ELDERS)
    store = NoticeStore(gw.db)

    async def delivered() -> bool:
        found = await store.query("t1")
        return len(found) == 3 and all(n.delivered_at for n in found)

    await _until(delivered)
    notices = await store.query("t1")
    assert sorted(n.patient_id for n in notices) == list(ELDERS)  # one per elder
    for n in notices:
        assert set(n.texts) == {"zh-CN", "en"}
        assert "Blood pressure 128/79 mmHg: within your target." in n.texts["en"]["body"]
        assert "血压 128/79 mmHg，在目标范围内。" in n.texts["zh-CN"]["body"]
        assert "Blood sugar 5.6 mmol/L" in n.texts["en"]["body"]
        assert n.deadline_at - n.created_at == timedelta(hours=12)
        assert n.delivered_to is not None
        assert n.delivered_to.startswith("sms:+86138")  # the elder's own phone first
    sent = [body for path, body in provider.messages() if path.startswith("/sms/")]
    # One each (at least once: a copy of the same notice is possible after a slow send).
    assert len({path for path, _ in provider.messages()}) == 3
    assert all("您的健康检查结果" in m["title"] and "Your health check results" in m["message"]
               for m in sent)  # fmt: skip
    await asyncio.sleep(0.5)
    assert len(await store.query("t1")) == 3  # later steps add nothing
    app = create_app(gateway=gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(app)
    ) as c:
        listed = (await c.get("/results-notices", params={"state": "delivered"})).json()
        assert len(listed) == 3
        other = auth_headers(app, tenant="t2")
        assert (await c.get("/results-notices", headers=other)).json() == []
    actions = [e.action for e in await gw.stores.audit.entries(limit=1000)]
    assert actions.count("results.notice.composed") == 3
    assert actions.count("results.notice.delivered") == 3


async def test_an_unreachable_contact_is_retried_and_raises_a_technical_alert(
    gw: Gateway, provider: Provider
) -> None:
    # p-1's only contact has an address no SMS provider takes.
    bad = Member("p-1-self", "t1", "Elder", role="self", contacts=(Contact("sms", "not-a-phone"),))
    await gw.stores.rosters.set_emergency_contacts(PatientKey("t1", "p-1"), [bad])
    assert gw.results is not None
    gw.results.sender.backoff_s = 0.05
    gw.results.sender.sweep_s = 0.1  # and are found again as soon as they are due
    gw.results.sender.grace_s = 0.0
    await _visits(gw, ("p-1",), high=True)
    store = NoticeStore(gw.db)

    async def raised() -> bool:
        return bool(await gw.stores.alerts.query(tenant="t1", code="notify.channel_failed"))

    await _until(raised)
    (n,) = await store.query("t1", patient_id="p-1")
    assert n.delivered_at is None
    assert n.attempts >= 3
    assert n.last_error == "no contact reached"
    assert n.state(utcnow()) is NoticeState.PENDING
    assert "above your target" in n.texts["en"]["body"]
    (alert,) = await gw.stores.alerts.query(tenant="t1", code="notify.channel_failed")
    assert (alert.patient_id, alert.evidence["channel"]) == ("p-1", "results")
    assert provider.messages() == []


async def test_a_week_of_home_readings_is_summed_up_for_the_elder(
    gw: Gateway, provider: Provider
) -> None:
    now = utcnow()
    cuff = Device("cuff-2", "t1", "bp", bindings=(Binding("p-2", now - timedelta(days=30)),))
    await gw.stores.patients.save_device(cuff, now)
    gw.registry.put(cuff)
    wire = DeviceWire("t1", "cuff-2")
    msgs = [wire.bp(now - timedelta(days=6 - d), 148 + 2 * (d % 2), 92, 70) for d in range(7)]
    await gw.pipeline.handle([Inbound(m.topic, m.payload, now) for m in msgs])
    assert gw.results is not None
    assert await gw.results.home_series() == 1
    assert await gw.results.home_series() == 0  # one series a week
    (n,) = await NoticeStore(gw.db).query("t1", patient_id="p-2")
    assert n.source == "home"
    assert "Blood pressure 149/92 mmHg: above your target." in n.texts["en"]["body"]
    assert "居家测量" in n.texts["zh-CN"]["title"]

    async def delivered() -> bool:
        got = await NoticeStore(gw.db).get(n.notice_id)
        return got is not None and got.delivered_at is not None

    await _until(delivered)
