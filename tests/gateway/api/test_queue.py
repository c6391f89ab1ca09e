"""Serious alerts that cleared before anyone acted stay on the queue until a clinician reviews
them; the review is audited, and only such alerts of the caller's tenant can be reviewed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alerts.lifecycle import open_alert, resolve_alert
from alerts.model import AlertCandidate, AlertEvent, Priority
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import AlertRecord
from tests.support.auth import auth_headers

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def episode(code: str, tenant: str = "t1", priority: Priority | None = None) -> AlertEvent:
    return open_alert(tenant, AlertCandidate("p-1", code, T0, priority=priority), T0)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=lambda: T0 + timedelta(hours=1))
    await gw.start(mqtt=False)
    later = T0 + timedelta(minutes=20)
    cleared = episode("ecg.af")  # high, nobody acted: to review
    seen = episode("bp.hypertensive_crisis")
    low = episode("glucose.high", priority=Priority.MEDIUM)
    other = episode("emergency.fall", tenant="t2")
    events = [cleared, seen, low, other]
    events += [resolve_alert(e.alert, later) for e in (cleared, low, other)]
    await gw.stores.records.commit(AlertRecord(at=later, events=events))
    by_hand = resolve_alert(seen.alert, later, "dr.wang")  # a clinician closed it: seen
    await gw.stores.records.commit(AlertRecord(at=later, events=[by_hand]))
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def test_a_serious_alert_nobody_saw_stays_until_reviewed(app: FastAPI) -> None:
    h = auth_headers(app, Role.CLINICIAN, "t1", "dr.li")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=h
    ) as c:
        items = (await c.get("/queue")).json()["items"]
        assert [(i["code"], i["state"], i["needs_review"]) for i in items] == [
            ("ecg.af", "resolved", True)
        ]
        af = items[0]["alert_id"]
        others = await c.get("/queue", headers=auth_headers(app, Role.CLINICIAN, "t2"))
        (fall,) = others.json()["items"]
        assert fall["code"] == "emergency.fall"
        assert (await c.post(f"/alerts/{fall['alert_id']}/review")).status_code == 404
        assert (await c.post(f"/alerts/{af}/review")).status_code == 200
        assert (await c.post(f"/alerts/{af}/review")).status_code == 404  # once
        assert (await c.get("/queue")).json()["items"] == []
        trail = (await c.get(f"/alerts/{af}/audit")).json()
    assert [(t["action"], t["by"]) for t in trail if t["kind"] == "action"] == [("review", "dr.li")]


async def test_a_low_with_tachycardia_is_one_episode_on_the_queue(app: FastAPI) -> None:
    gw: Gateway = app.state.gateway
    low = episode("glucose.low")
    combined = episode("cv.hypoglycaemia_with_tachycardia")
    # Another elder: a low beside a crisis with AF is not part of that combination.
    other_low = open_alert("t1", AlertCandidate("p-2", "glucose.low", T0), T0)
    other_cv = open_alert("t1", AlertCandidate("p-2", "cv.crisis_with_arrhythmia", T0), T0)
    await gw.stores.records.commit(AlertRecord(at=T0, events=[low, combined, other_low, other_cv]))
    h = auth_headers(app, Role.CLINICIAN, "t1", "dr.li")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=h
    ) as c:
        got = (await c.get("/queue")).json()["items"]
    part_of = {(i["patient_id"], i["code"]): i["part_of"] for i in got if i["state"] == "open"}
    assert part_of == {
        ("p-1", "glucose.low"): combined.alert.alert_id,
        ("p-1", "cv.hypoglycaemia_with_tachycardia"): None,
        ("p-2", "glucose.low"): None,
        ("p-2", "cv.crisis_with_arrhythmia"): None,
    }


async def test_the_history_lists_resolved_alerts_missed_or_handled(app: FastAPI) -> None:
    h = auth_headers(app, Role.CLINICIAN, "t1", "dr.li")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=h
    ) as c:

        async def codes(**params: str) -> list[str]:
            r = await c.get("/alerts", params={"state": "resolved", **params})
            assert r.status_code == 200, r.text
            return sorted(a["code"] for a in r.json())

        assert await codes() == ["bp.hypertensive_crisis", "ecg.af", "glucose.high"]
        assert await codes(missed="true") == ["ecg.af", "glucose.high"]  # ended unattended
        assert await codes(missed="false") == ["bp.hypertensive_crisis"]  # closed by dr.wang
        assert await codes(missed="true", priority="high") == ["ecg.af"]
        after = (T0 + timedelta(minutes=1)).isoformat()
        assert await codes(missed="true", since=after) == []
        # Another tenant's history is its own: t2's fall is not in t1's.
        assert "emergency.fall" not in await codes(missed="true")
