"""The patient list's search and the escalation coverage check, through the real app: both
scoped to the caller's tenant; an administrator's edit of an elder is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.api import client
from tests.support.auth import auth_headers

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    policy = tmp_path / "policy.toml"
    demo = (REPO / "deploy" / "policies" / "demo.toml").read_text()
    policy.write_text(demo.replace('tenant = "demo"', 'tenant = "t1"'))
    gw = Gateway(Settings(mode="test", data_dir=tmp_path, policies=policy), clock=lambda: NOW)
    await gw.start(mqtt=False)
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def _setup(app: FastAPI) -> None:
    admin = auth_headers(app, Role.ADMIN, "t1", "admin.t1")
    async with client(app, admin) as c:
        member = {"name": "Dr Wang", "contacts": [{"channel": "sms", "address": "+8613800000001"}]}
        assert (await c.put("/rosters/members/dr-wang", json=member)).status_code == 200
        team = {"name": "Riverside family doctors", "members": ["dr-wang"]}
        assert (await c.put("/rosters/teams/gp-river", json=team)).status_code == 200
        for pid, body in {
            "p-001": {"name": "Zhang Wei", "conditions": "Hypertension; type 2 diabetes",
                      "care_team": "gp-river"},
            "p-002": {"name": "Li Na", "conditions": "Atrial fibrillation", "lives_alone": True},
            "p-1%_": {"name": "Odd Id"},
        }.items():  # fmt: skip
            assert (await c.put(f"/patients/{pid}", json=body)).status_code == 200
    other = auth_headers(app, Role.ADMIN, "t2", "admin.t2")
    async with client(app, other) as c:
        body = {"name": "Zhang Elsewhere", "conditions": "Hypertension"}
        assert (await c.put("/patients/p-900", json=body)).status_code == 200


async def test_patients_are_found_by_name_id_condition_and_care_team(app: FastAPI) -> None:
    await _setup(app)

    async def ids(q: str) -> list[str]:
        async with client(app, auth_headers(app, Role.CLINICIAN, "t1")) as c:
            r = await c.get("/patients", params={"q": q})
            assert r.status_code == 200
            return [p["patient_id"] for p in r.json()]

    assert await ids("zhang") == ["p-001"]  # never the other tenant's Zhang
    assert await ids("P-00") == ["p-001", "p-002"]
    assert await ids("fibrillation") == ["p-002"]
    assert await ids("hypertension") == ["p-001"]
    assert await ids("gp-river") == ["p-001"]
    assert await ids("riverside") == ["p-001"]  # the care team's name
    assert await ids("%") == ["p-1%_"]  # a literal, not a wildcard
    assert await ids("_") == ["p-1%_"]
    assert await ids("nobody") == []
    assert await ids("") == ["p-001", "p-002", "p-1%_"]


async def test_an_administrators_edit_of_an_elder_is_audited(app: FastAPI) -> None:
    await _setup(app)
    admin = auth_headers(app, Role.ADMIN, "t1", "admin.t1")
    async with client(app, admin) as c:
        body = {"name": "Zhang Wei", "birth_year": 1938, "sex": "male", "care_team": "gp-river",
                "allergies": "penicillin"}  # fmt: skip
        r = await c.put("/patients/p-001", json=body)
        assert r.status_code == 200
        assert r.json()["allergies"] == "penicillin"
    gw: Gateway = app.state.gateway
    entries = await gw.stores.audit.entries(subject_id="p-001")
    last = entries[-1]
    assert (last.actor, last.action) == ("admin.t1", "put")
    assert last.after is not None
    assert last.after["allergies"] == "penicillin"
    assert last.before is not None
    assert last.before["allergies"] is None


async def test_coverage_names_the_tiers_that_reach_nobody(app: FastAPI) -> None:
    await _setup(app)
    async with client(app, auth_headers(app, Role.ADMIN, "t1", "admin.t1")) as c:
        r = await c.get("/rosters/coverage")
        assert r.status_code == 200
        found = r.json()
        assert found["policy_version"] == "2026-11-01.1"
        tenant = {(g["tier_name"], tuple(g["unresolved"])) for g in found["tenant_gaps"]}
        assert tenant == {
            ("on_call_physician", ("rotation:oncall-physicians",)),
            ("emergency", ("team:emergency-120", "team:city-hospital-referral")),
        }
        patients = {(g["patient_id"], g["patient_name"], g["tier_name"])
                    for g in found["patient_gaps"]}  # fmt: skip
        assert patients == {
            ("p-002", "Li Na", "family_doctor"),
            ("p-002", "Li Na", "emergency_contact"),
            ("p-1%_", "Odd Id", "family_doctor"),
        }
        one = (await c.get("/rosters/coverage", params={"patient_id": "p-001"})).json()
        assert one["patient_gaps"] == []
        contacts = {"contacts": [{"name": "Li Ming", "relation": "son",
                    "contacts": [{"channel": "sms", "address": "+8613900000002"}]}]}  # fmt: skip
        path = "/rosters/patients/p-002/emergency-contacts"
        assert (await c.put(path, json=contacts)).status_code == 200
        again = (await c.get("/rosters/coverage", params={"patient_id": "p-002"})).json()
        assert [g["tier_name"] for g in again["patient_gaps"]] == ["family_doctor"]
    async with client(app, auth_headers(app, Role.ADMIN, "t2", "admin.t2")) as c:
        other = (await c.get("/rosters/coverage")).json()
        assert other["policy_version"] is None  # no policy for t2 (and none of t1's elders)
        assert other["patient_gaps"] == []
