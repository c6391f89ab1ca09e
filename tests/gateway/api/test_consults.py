"""Remote ECG consultation over the API: a family doctor asks from an AF alert, the centre's
cardiologist claims and reports, the report comes back; nobody else finds any of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient
from tests.support.api import client
from tests.support.auth import auth_headers
from tests.support.clock import VirtualClock
from tests.support.consult import CENTRE, CENTRE_BODY, seed_af

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    g = Gateway(Settings(mode="test", data_dir=tmp_path), clock=VirtualClock(NOW))
    await g.start(mqtt=False)
    await seed_af(g, NOW, "p-east", "t-east", NOW - timedelta(minutes=3))
    await g.stores.patients.save_patient(Patient("p-west", "t-west", NOW, name="p-west"))
    try:
        yield g
    finally:
        await g.stop()


@pytest.fixture
def app(gw: Gateway) -> FastAPI:
    return create_app(gateway=gw)


def dr(app: FastAPI, tenant: str = "t-east") -> dict[str, str]:
    return auth_headers(app, Role.CLINICIAN, tenant=tenant, user=f"dr.{tenant}")


def cardio(app: FastAPI, user: str = "dr.chen", centre: str = CENTRE) -> dict[str, str]:
    return auth_headers(app, Role.CARDIOLOGIST, tenant=centre, user=user)


async def setup_request(app: FastAPI, gw: Gateway, **extra: object) -> dict[str, object]:
    async with client(app) as c:
        admin = auth_headers(app, Role.ADMIN, tenant=CENTRE)
        r = await c.put(f"/consult/centres/{CENTRE}", json=CENTRE_BODY, headers=admin)
        assert r.status_code == 200, r.text
        alert = next(a for a in await gw.stores.alerts.active() if a.code == "ecg.af")
        body = {"patient_id": "p-east", "alert_id": alert.alert_id, "question": "New AF?", **extra}
        r = await c.post("/consult/requests", json=body, headers=dr(app))
        assert r.status_code == 201, r.text
        out: dict[str, object] = r.json()
        return out


async def test_af_request_is_read_and_reported_back(app: FastAPI, gw: Gateway) -> None:
    q = await setup_request(app, gw)
    assert (q["proposed"], q["priority"], q["status"]) == ("urgent", "urgent", "requested")
    assert q["due_at"] == "2026-12-01T09:00:00.000Z"  # the centre's 60 min for urgent
    rid = q["request_id"]
    async with client(app) as c:
        work = (await c.get("/consult/requests", headers=cardio(app))).json()
        assert [w["request_id"] for w in work] == [rid]
        one = (await c.get(f"/consult/requests/{rid}", headers=cardio(app))).json()
        ecg = one["ecg"]
        assert ecg["fs"] == 250.0
        assert len(ecg["beats"]) > 30
        assert any(e["label"] == "AF" for e in ecg["episodes"])
        assert (
            await c.post(f"/consult/requests/{rid}/claim", headers=cardio(app))
        ).status_code == 200
        other = cardio(app, "dr.zhou")
        r = await c.post(f"/consult/requests/{rid}/claim", headers=other)
        assert r.status_code == 409
        assert "dr.chen" in r.text
        report = {"findings": ["atrial_fibrillation"], "text": "AF, rate controlled",
                  "measurements": {"RR": 712.0}, "critical": True}  # fmt: skip
        r = await c.post(f"/consult/requests/{rid}/report", json=report, headers=other)
        assert r.status_code == 409
        r = await c.post(f"/consult/requests/{rid}/report", json=report, headers=cardio(app))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "final"
        mine = (await c.get("/consult/requests?patient_id=p-east", headers=dr(app))).json()
        assert mine[0]["report"]["findings"][0]["snomed"] == "49436004"
        back = [a for a in await gw.stores.alerts.active("t-east") if a.code == "consult.report"]
        assert [a.priority.value for a in back] == ["high"]  # critical: heard at once
        r = await c.post(f"/consult/requests/{rid}/receipt", headers=dr(app))
        assert r.json()["receipt_by"] == "dr.t-east"
        assert not [
            a for a in await gw.stores.alerts.active("t-east") if a.code == "consult.report"
        ]
        amended = {**report, "text": "AF with one pause of 1.8 s", "critical": False}
        r = await c.post(f"/consult/requests/{rid}/amend", json=amended, headers=cardio(app))
        got = r.json()
        assert got["status"] == "amended"
        assert got["report"]["version"] == 2
        assert got["amendments"][0]["text"] == "AF, rate controlled"  # the earlier one kept
        figures = (await c.get("/consult/figures", headers=cardio(app))).json()
        urgent = next(f for f in figures if f["priority"] == "urgent")
        assert (urgent["requests"], urgent["reported"], urgent["within_deadline"]) == (1, 1, 1.0)
    who = {(e.actor, e.action) for e in await gw.stores.audit.entries(subject_id=str(rid))}
    assert {("dr.t-east", "consult.request"), ("dr.chen", "consult.claim"),
            ("dr.chen", "consult.final"), ("dr.t-east", "consult.receipt")} <= who  # fmt: skip


async def test_other_centre_and_other_tenant_find_nothing(app: FastAPI, gw: Gateway) -> None:
    q = await setup_request(app, gw)
    rid = q["request_id"]
    strangers = (cardio(app, "dr.x", "c-other"), dr(app, "t-west"))
    async with client(app) as c:
        for h in strangers:
            for tail in ("", "/fhir", "/print"):
                r = await c.get(f"/consult/requests/{rid}{tail}", headers=h)
                assert r.status_code == 404, tail
            assert (await c.get("/consult/requests", headers=h)).json() == []
        r = await c.post(f"/consult/requests/{rid}/claim", headers=strangers[0])
        assert r.status_code == 404
        assert (
            await c.post(f"/consult/requests/{rid}/receipt", headers=strangers[1])
        ).status_code == 404
        # The centre's cardiologist reads the request, never the rest of the tenant's record.
        r = await c.get(f"/consult/requests/{rid}/fhir", headers=cardio(app))
        assert r.headers["content-type"].startswith("application/fhir+json")
        assert r.json()["type"] == "collection"
        r = await c.get(f"/consult/requests/{rid}/print", headers=dr(app))
        assert r.headers["content-type"].startswith("text/html")
        for path in ("/patients/p-east", "/alerts", "/history/p-east/latest"):
            assert (await c.get(path, headers=cardio(app))).status_code == 403, path
        # A tenant that does not send to the centre cannot ask it.
        body = {"patient_id": "p-west", "question": "?", "start": "2026-12-01T07:57:00Z",
                "end": "2026-12-01T07:58:00Z"}  # fmt: skip
        r = await c.post("/consult/requests", json=body, headers=dr(app, "t-west"))
        assert r.status_code == 404
        # Another centre's administrator cannot rewrite this centre.
        admin = auth_headers(app, Role.ADMIN, tenant="c-other")
        r = await c.put(f"/consult/centres/{CENTRE}", json=CENTRE_BODY, headers=admin)
        assert r.status_code == 404


async def test_priority_may_be_raised_never_lowered(app: FastAPI, gw: Gateway) -> None:
    q = await setup_request(app, gw, priority="stat")
    assert (q["proposed"], q["priority"]) == ("urgent", "stat")
    assert q["due_at"] == "2026-12-01T08:10:00.000Z"
    async with client(app) as c:
        alert = next(a for a in await gw.stores.alerts.active() if a.code == "ecg.af")
        body = {"patient_id": "p-east", "alert_id": alert.alert_id, "question": "?",
                "priority": "routine"}  # fmt: skip
        assert (await c.post("/consult/requests", json=body, headers=dr(app))).status_code == 422


async def test_two_cardiologists_claiming_at_once_do_not_both_get_it(
    app: FastAPI, gw: Gateway
) -> None:
    rid = (await setup_request(app, gw))["request_id"]
    async with client(app) as c:
        path = f"/consult/requests/{rid}/claim"
        both = await asyncio.gather(
            c.post(path, headers=cardio(app)), c.post(path, headers=cardio(app, "dr.zhou"))
        )
        assert sorted(r.status_code for r in both) == [200, 409]
        got = (await c.get(f"/consult/requests/{rid}", headers=cardio(app))).json()
        winner = next(r for r in both if r.status_code == 200).json()["claimed_by"]
        assert got["claimed_by"] == winner


async def test_a_window_of_the_patient_page_without_an_alert(app: FastAPI, gw: Gateway) -> None:
    await setup_request(app, gw)
    body = {"patient_id": "p-east", "question": "Pauses at night?",
            "start": "2026-12-01T07:57:10Z", "end": "2026-12-01T07:58:10Z"}  # fmt: skip
    async with client(app) as c:
        r = await c.post("/consult/requests", json=body, headers=dr(app))
        assert r.status_code == 201, r.text
        q = r.json()
        assert q["alert_id"] is None
        assert q["window"]["start"] == "2026-12-01T07:57:10.000Z"
        too_long = {**body, "end": "2026-12-01T08:08:00Z"}
        assert (
            await c.post("/consult/requests", json=too_long, headers=dr(app))
        ).status_code == 422


async def test_the_worklist_shows_who_holds_a_claim_until_its_lease_ends(
    app: FastAPI, gw: Gateway
) -> None:
    rid = (await setup_request(app, gw))["request_id"]
    async with client(app) as c:
        await c.post(f"/consult/requests/{rid}/claim", headers=cardio(app))
        work = (await c.get("/consult/requests", headers=cardio(app, "dr.zhou"))).json()
        assert (work[0]["status"], work[0]["holder"]) == ("claimed", "dr.chen")
        assert isinstance(gw.clock, VirtualClock)
        gw.clock.advance(timedelta(minutes=31))  # the centre's 30 min lease ends
        work = (await c.get("/consult/requests", headers=cardio(app, "dr.zhou"))).json()
        assert work[0]["holder"] is None
        r = await c.post(f"/consult/requests/{rid}/claim", headers=cardio(app, "dr.zhou"))
        assert r.json()["holder"] == "dr.zhou"
