"""Follow-ups through the ASGI app: the plan's tasks listed with their state, one marked done
(audited, the next planned), each exported as a valid FHIR R4 Task; tenants see only theirs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from devices.model import utcnow
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.auth import auth_headers
from tests.support.fhir import validate
from tests.support.record import seed_record


async def test_follow_ups_listed_done_and_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMG_FOLLOWUP_ENABLED", "false")
    gw = Gateway(Settings(mode="test", data_dir=tmp_path))
    await gw.start(mqtt=False)
    await seed_record(gw, utcnow())  # hypertension and type 2 diabetes recorded
    assert (await gw.followups.step()).created == 2
    assert (await gw.followups.step()).created == 0  # the plan is up to date
    app = create_app(gateway=gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(app)
    ) as c:
        tasks = (await c.get("/followups", params={"state": "due"})).json()
        assert sorted(t["rule"] for t in tasks) == [
            "hypertension.routine",
            "type2_diabetes.routine",
        ]
        first = tasks[0]
        task = (await c.get(f"/followups/{first['task_id']}/fhir")).json()
        validate(task)
        assert (task["status"], task["businessStatus"]["text"], task["owner"]["display"]) == (
            "requested", "due", "Family doctors 1",
        )  # fmt: skip
        r = await c.post(f"/followups/{first['task_id']}/done", json={"note": "home visit"})
        assert (r.status_code, r.json()["state"], r.json()["done_by"]) == (
            200,
            "done",
            "clinician.t1",
        )
        done = (await c.get(f"/followups/{first['task_id']}/fhir")).json()
        validate(done)
        assert done["status"] == "completed"
        nxt = [t for t in (await c.get("/followups")).json() if t["rule"] == first["rule"]]
        assert len(nxt) == 2  # the next one of the same rule, a quarter later
        due = next(t for t in nxt if t["state"] == "due")
        assert due["due_at"] > (utcnow() + timedelta(days=90)).isoformat()
        other = auth_headers(app, Role.CLINICIAN, tenant="t2")
        assert (await c.get("/followups", headers=other)).json() == []
        r = await c.post(f"/followups/{first['task_id']}/done", json={}, headers=other)
        assert r.status_code == 404
        auditor = auth_headers(app, Role.AUDITOR)
        assert (await c.get("/followups", headers=auditor)).status_code == 403
    actions = [e.action for e in await gw.stores.audit.entries(subject_id="p-1")]
    assert actions.count("followup.plan") == 3
    assert actions.count("followup.done") == 1
    await gw.stop()
