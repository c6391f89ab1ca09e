"""An emergency call's loop through the API: dispatch, arrival, resolution with an outcome (one
taken to hospital opens a referral with the evidence), each audited under the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alerts.model import AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient, Profile
from tests.support.auth import auth_headers
from tests.support.clock import VirtualClock

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
POLICY = Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    clock = VirtualClock(T0)
    gw = Gateway(Settings(mode="test", data_dir=tmp_path, policies=POLICY), clock=clock)
    await gw.start(mqtt=False)
    await gw.stores.patients.save_patient(Patient("p-001", "demo", T0))
    try:
        yield gw
    finally:
        await gw.stop()


async def open_call(gw: Gateway, code: str = "emergency.sos") -> str:
    result = gw.desk.observe([AlertCandidate("p-001", code, T0)], T0, tenant="demo")
    assert await gw.pipeline.record(result, None)
    return result.events[0].alert.alert_id


async def test_dispatch_arrival_and_outcome_through_the_api(gw: Gateway) -> None:
    app: FastAPI = create_app(gateway=gw)
    h = auth_headers(app, Role.CLINICIAN, "demo", "op.wu", ttl_s=3600)
    await gw.stores.patients.save_patient(
        Patient("p-001", "demo", T0, name="Wang Fang", birth_year=1941,
                profile=Profile(address="Room 302, 8 Lane 5", access_notes="key safe 4711",
                                allergies="penicillin"))
    )  # fmt: skip
    clock = gw.clock
    assert isinstance(clock, VirtualClock)
    # What the responder should know: the last BP, and an AF alert still open (a fall in AF).
    cuff = Reading("demo", "cuff-1", Kind.BP, 7, T0 - timedelta(hours=2), T0, "p-001",
                   {"systolic": 168.0, "diastolic": 96.0, "pulse": 104.0})  # fmt: skip
    await gw.readings.write([cuff])
    await open_call(gw, "ecg.af")
    call = await open_call(gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=h
    ) as c:
        going = {"responder": "community", "name": "Li Ming", "eta_minutes": 20}
        early = await c.post(f"/alerts/{call}/dispatch", json=going)
        assert early.status_code == 409  # the call is answered first
        clock.advance_to(T0 + timedelta(seconds=45))
        assert (await c.post(f"/alerts/{call}/ack", json={})).status_code == 200
        clock.advance_to(T0 + timedelta(seconds=60))
        sent = await c.post(f"/alerts/{call}/dispatch", json=going)
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["state"] == "dispatched"
        assert body["escalation"]["due_at"] == "2026-11-29T08:21:00.000Z"
        brief = (await c.get(f"/alerts/{call}/brief")).json()
        assert (brief["name"], brief["age"], brief["access_notes"]) == (
            "Wang Fang",
            85,
            "key safe 4711",
        )
        assert brief["dispatch"]["name"] == "Li Ming"
        # The brief the responder went with is kept in the call's evidence, as it was then.
        stored = await gw.stores.alerts.get(call)
        assert stored is not None
        sent_with = stored.evidence["response"]["dispatch"]["brief"]
        assert sent_with["access_notes"] == "key safe 4711"
        assert sent_with["allergies"] == "penicillin"
        assert [a["code"] for a in sent_with["open_alerts"]] == ["ecg.af"]
        assert sent_with["latest"]["bp"]["values"]["systolic"] == 168.0
        assert "dispatch" not in sent_with
        clock.advance_to(T0 + timedelta(minutes=50))
        assert (await c.post(f"/alerts/{call}/resolve", json={})).status_code == 409
        assert (await c.post(f"/alerts/{call}/arrive")).json()["state"] == "arrived"
        done = await c.post(f"/alerts/{call}/resolve", json={"outcome": "handled_at_home"})
        assert done.json()["state"] == "resolved"
        trail = await c.get(f"/alerts/{call}/audit")
        acts = [
            (t["action"], t["by"])
            for t in trail.json()
            if t["kind"] == "action" and t["action"] != "read"
        ]
        assert acts == [
            ("acknowledge", "op.wu"), ("dispatch", "op.wu"), ("arrive", "op.wu"),
            ("resolve", "op.wu"),
        ]  # fmt: skip
        fall = await open_call(gw, "emergency.fall")
        await c.post(f"/alerts/{fall}/ack", json={})
        no_where = await c.post(f"/alerts/{fall}/resolve", json={"outcome": "taken_to_hospital"})
        assert no_where.status_code == 422
        taken = await c.post(
            f"/alerts/{fall}/resolve",
            json={"outcome": "taken_to_hospital", "hospital": "City No.1 Hospital"},
        )
        assert taken.status_code == 200, taken.text
        (referral,) = (await c.get("/referrals", params={"alert_id": fall})).json()
        assert (referral["target_org"], referral["urgency"]) == ("City No.1 Hospital", "stat")
        events = [e.event.value for e in await gw.stores.alerts.events(fall)]
        assert events[-1] == "resolved"
        figures = await c.get("/emergencies/figures", params={"start": "2026-11-29T00:00:00Z"})
        f = figures.json()
        assert (f["calls"], f["answered"], f["attended"]) == (2, 2, 1)
        assert (f["answered_within_60s"], f["answered_within_180s"]) == (
            0.5,
            0.5,
        )  # the fall: 50 min
        assert (f["on_site_within_45min"], f["on_site_within_60min"]) == (0.0, 1.0)  # 50 min
        assert f["median_answer_s"] == pytest.approx((45 + 50 * 60) / 2)
