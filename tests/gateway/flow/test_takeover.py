"""A referral or a dispatch takes over the elder's other open alerts: they stop escalating, each
acknowledged under the clinician with an audit row naming what took it over; a wrong choice
(another elder's alert, another tenant's) refuses the whole action before anything changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alerts.model import AlertCandidate
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient
from tests.support.auth import auth_headers
from tests.support.clock import VirtualClock

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
POLICY = Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml"
REFERRAL = {"target_org": "City Hospital", "department": "Cardiology", "reason": "crisis"}


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path, policies=POLICY), clock=VirtualClock(T0))
    await gw.start(mqtt=False)
    for pid in ("p-001", "p-002"):
        await gw.stores.patients.save_patient(Patient(pid, "demo", T0))
    try:
        yield gw
    finally:
        await gw.stop()


async def raise_(gw: Gateway, code: str, patient_id: str = "p-001", tenant: str = "demo") -> str:
    result = gw.desk.observe([AlertCandidate(patient_id, code, T0)], T0, tenant=tenant)
    assert await gw.pipeline.record(result, None)
    return result.events[0].alert.alert_id


def client(app: FastAPI) -> httpx.AsyncClient:
    h = auth_headers(app, Role.CLINICIAN, "demo", "dr.li", ttl_s=3600)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=h)


async def test_a_referral_takes_over_the_elders_other_open_alerts(gw: Gateway) -> None:
    app = create_app(gateway=gw)
    crisis = await raise_(gw, "bp.hypertensive_crisis")
    af = await raise_(gw, "ecg.af")
    low = await raise_(gw, "glucose.low")
    other_elder = await raise_(gw, "ecg.af", "p-002")
    elsewhere = await raise_(gw, "ecg.af", "p-009", tenant="t-west")
    assert all(gw.desk.timer(a) is not None for a in (af, low))
    async with client(app) as c:
        for wrong in (other_elder, crisis):
            r = await c.post(f"/alerts/{crisis}/refer", json={**REFERRAL, "take_over": [wrong]})
            assert r.status_code == 422, r.text
        r = await c.post(f"/alerts/{crisis}/refer", json={**REFERRAL, "take_over": [elsewhere]})
        assert r.status_code == 404
        assert (await gw.stores.referrals.query(alert_id=crisis)) == []  # nothing changed
        r = await c.post(f"/alerts/{crisis}/refer", json={**REFERRAL, "take_over": [af, low]})
        assert r.status_code == 201, r.text
        out = r.json()
    assert {a["alert_id"]: a["state"] for a in out["taken_over"]} == {
        af: "acknowledged",
        low: "acknowledged",
    }
    referral = out["referral_id"]
    for alert_id in (af, low):
        live = gw.desk.find(alert_id)
        assert live is not None
        assert live.acknowledged_by == "dr.li"
        timer = gw.desk.timer(alert_id)  # no tier deadline runs any more
        assert timer is None or timer.reason == "ack_expired"
        (entry,) = [
            e
            for e in await gw.stores.audit.entries(subject_id=alert_id)
            if e.action == "acknowledge"
        ]
        assert entry.actor == "dr.li"
        assert referral in entry.detail["text"]
        assert crisis in entry.detail["text"]
    assert gw.desk.find(other_elder) is not None
    assert gw.desk.timer(other_elder) is not None  # another elder's alert escalates as before


async def test_a_dispatch_takes_over_the_callers_other_alerts(gw: Gateway) -> None:
    app = create_app(gateway=gw)
    clock = gw.clock
    assert isinstance(clock, VirtualClock)
    af = await raise_(gw, "ecg.af")
    call = await raise_(gw, "emergency.fall")
    async with client(app) as c:
        assert (await c.post(f"/alerts/{call}/ack", json={})).status_code == 200
        clock.advance_to(T0 + timedelta(seconds=30))
        going = {"responder": "community", "name": "Li Ming", "eta_minutes": 20, "take_over": [af]}
        r = await c.post(f"/alerts/{call}/dispatch", json=going)
        assert r.status_code == 200, r.text
        assert r.json()["taken_over"] == [af]
        trail = (await c.get(f"/alerts/{af}/audit")).json()
    acks = [t for t in trail if t["kind"] == "action" and t["action"] == "acknowledge"]
    assert len(acks) == 1
    assert acks[0]["by"] == "dr.li"
    assert "help sent" in acks[0]["detail"]["text"]
