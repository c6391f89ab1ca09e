"""Deny by default, through the real app: every route has a policy, a route without one is
refused, no token is 401 outside the public allow-list, a role the route does not admit is 403,
another tenant's objects are not found and its lists come back empty."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute, iter_route_contexts

from alerts.model import AlertEvent, EventType, State
from devices.registry import Binding, Device
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.api.limits import RateLimiter
from gateway.api.policy import POLICY, PUBLIC_PATHS, access_for
from gateway.api.security import guard
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import AlertRecord
from gateway.storage.patients import Patient
from tests.support.api import client, crisis_alert
from tests.support.auth import auth_headers

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
# Values for path parameters: objects of tenant t-east.
PARAMS = {
    "patient_id": "p-east",
    "alert_id": "a-east",
    "device_id": "cuff-east",
    "referral_id": "r-east",
    "member_id": "m-east",
    "team_id": "team-east",
    "rotation_id": "rot-east",
    "part": "members",
    "key": "m-east",
    "action": "accept",
    "centre_id": "c-east",
    "request_id": "r-east",
    "task_id": "fu-east",
}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves through an API route."""
    found: list[tuple[str, str]] = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.route, APIRoute):
            found += [(m, ctx.route.path) for m in sorted(ctx.route.methods or ())]
    return found


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PARAMS[m.group(1)], path)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=lambda: NOW)
    await gw.start(mqtt=False)
    for side in ("east", "west"):
        tenant = f"t-{side}"
        await gw.stores.patients.save_patient(Patient(f"p-{side}", tenant, NOW, name=side))
        dev = Device(f"cuff-{side}", tenant, "bp", bindings=(Binding(f"p-{side}", NOW),))
        await gw.stores.patients.save_device(dev, NOW)
        gw.registry.put(dev)
        a = crisis_alert(f"a-{side}", tenant, f"p-{side}", NOW)
        await gw.stores.records.commit(
            AlertRecord(at=NOW, events=[AlertEvent(EventType.OPENED, NOW, a)])
        )
        gw.desk.load([a], [])
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
def app(gw: Gateway) -> FastAPI:
    return create_app(gateway=gw)


def test_every_route_has_a_policy_and_every_policy_a_route() -> None:
    app = create_app(Settings(mode="test"))
    routes = api_routes(app)
    assert len(routes) >= 49
    assert [r for r in routes if access_for(*r) is None] == []
    assert sorted(set(POLICY) - set(routes)) == []  # no stale entry
    others = {
        getattr(ctx.route, "path", repr(ctx.route))
        for ctx in iter_route_contexts(app.routes)
        if not isinstance(ctx.route, APIRoute)
    }
    assert others <= PUBLIC_PATHS


def _takes_guard(d: Dependant) -> bool:
    return any(s.call is guard or _takes_guard(s) for s in d.dependencies)


def test_no_public_route_takes_the_actor() -> None:
    """`CurrentActor` is the guard's result, None on a public route: no public route asks."""
    app = create_app(Settings(mode="test"))
    taking: dict[str, bool] = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.route
        if isinstance(route, APIRoute):
            own = get_dependant(path=route.path_format, call=route.endpoint)
            for m in route.methods or ():
                access = access_for(m, route.path)
                if access is not None and access.public:
                    taking[f"{m} {route.path}"] = _takes_guard(own)
            if route.path == "/alerts/{alert_id}/ack":
                assert _takes_guard(own)  # the check sees `CurrentActor`
    assert taking
    assert not any(taking.values()), taking


async def test_the_guard_runs_once_for_a_route_that_takes_the_actor(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    takes: list[str] = []
    take = RateLimiter.take

    def counted(self: RateLimiter, client: str) -> float | None:
        takes.append(client)
        return take(self, client)

    monkeypatch.setattr(RateLimiter, "take", counted)
    async with client(app) as c:
        r = await c.post(
            "/alerts/a-east/ack", json={}, headers=auth_headers(app, Role.CLINICIAN, "t-east")
        )
        assert r.status_code == 200, r.text
    assert len(takes) == 1


async def test_a_route_that_forgets_its_policy_is_refused(app: FastAPI) -> None:
    @app.get("/patients/{patient_id}/secret")
    async def secret(patient_id: str) -> dict[str, str]:
        return {"patient_id": patient_id}

    async with client(app) as c:
        for headers in ({}, auth_headers(app, Role.CLINICIAN, "t-east")):
            r = await c.get("/patients/p-east/secret", headers=headers)
            assert r.status_code == 403, r.text
            assert "p-east" not in r.text


async def test_without_a_token_only_the_allow_list_answers(app: FastAPI) -> None:
    answered = []
    async with client(app) as c:
        for method, path in api_routes(app):
            r = await c.request(method, concrete(path), json={})
            if r.status_code != 401:
                answered.append(path)
            else:
                assert r.headers["www-authenticate"].startswith("Bearer")
        forged = await c.get("/alerts", headers={"X-HMG-User": "dr.li"})
        assert forged.status_code == 401
    public = sorted(p for (_m, p), a in POLICY.items() if a.public)
    assert sorted(answered) == public
    assert public == ["/.well-known/jwks.json", "/auth/token", "/health", "/ready"]


async def test_a_role_the_route_does_not_admit_is_forbidden(app: FastAPI) -> None:
    async with client(app) as c:
        for method, path in api_routes(app):
            access = access_for(method, path)
            assert access is not None
            role = next((r for r in Role if r not in access.roles | {Role.SYSTEM}), None)
            if access.public or role is None:  # public, or open to every signed-in role
                continue
            r = await c.request(
                method, concrete(path), json={}, headers=auth_headers(app, role, "t-east")
            )
            assert r.status_code == 403, (method, path, role, r.status_code)


async def test_another_tenant_finds_nothing_of_this_one(app: FastAPI, gw: Gateway) -> None:
    west = {role: auth_headers(app, role, "t-west") for role in (Role.CLINICIAN, Role.ADMIN)}
    objects = [
        (m, p)
        for (m, p), a in POLICY.items()
        if not a.public and "{" in p and m == "GET" and "{part}" not in p
    ]
    async with client(app) as c:
        for method, path in objects:
            access = access_for(method, path)
            assert access is not None
            role = Role.CLINICIAN if Role.CLINICIAN in access.roles else Role.ADMIN
            if role not in access.roles:
                continue
            url = concrete(path)
            if path.endswith(("/ecg/chunks", "/ecg/strip")):
                url += "?start=2026-11-29T07:55:00Z&end=2026-11-29T08:00:00Z"
            r = await c.request(method, url, headers=west[role])
            assert r.status_code == 404, (path, r.status_code, r.text)
        for path in ("/patients", "/alerts", "/referrals", "/queue"):
            r = await c.get(path, headers=west[Role.CLINICIAN])
            assert r.status_code == 200, path
            assert "east" not in r.text, path
        r = await c.get("/devices", headers=west[Role.ADMIN])
        assert [d["device_id"] for d in r.json()] == ["cuff-west"]
        r = await c.get("/fhir/Observation?patient=p-east", headers=west[Role.CLINICIAN])
        assert r.status_code == 404


@pytest.mark.parametrize("action", ["ack", "resolve", "escalate", "assign", "comment", "refer"])
async def test_cross_tenant_actions_are_not_found_and_change_nothing(
    app: FastAPI, gw: Gateway, action: str
) -> None:
    body: dict[str, object] = {}
    if action == "comment":
        body = {"text": "x"}
    if action == "refer":
        body = {"target_org": "H", "department": "Cardiology", "reason": "crisis"}
    async with client(app) as c:
        r = await c.post(
            f"/alerts/a-east/{action}", json=body, headers=auth_headers(app, tenant="t-west")
        )
    assert r.status_code == 404, r.text
    live = gw.desk.find("a-east")
    assert live is not None
    assert live.state is State.OPEN
    assert await gw.stores.audit.entries(subject_id="a-east") == []
    assert await gw.stores.referrals.query(alert_id="a-east") == []


async def test_the_actor_comes_from_the_token_never_the_request(app: FastAPI, gw: Gateway) -> None:
    headers = {**auth_headers(app, tenant="t-east", user="dr.wang"), "X-HMG-User": "dr.li"}
    async with client(app) as c:
        named = await c.post("/alerts/a-east/ack", json={"by": "dr.li"}, headers=headers)
        assert named.status_code == 422  # a body that names an actor is refused
        ok = await c.post("/alerts/a-east/ack", json={"comment": "on it"}, headers=headers)
        assert ok.status_code == 200, ok.text
        assert ok.json()["acknowledged_by"] == "dr.wang"
        trail = await c.get(
            "/alerts/a-east/audit", headers=auth_headers(app, Role.AUDITOR, "t-east")
        )
    (entry,) = [e for e in trail.json() if e["kind"] == "action"]
    assert (entry["action"], entry["by"]) == ("acknowledge", "dr.wang")
    assert entry["client"].startswith("tests@")


async def test_thresholds_need_a_clinician_and_keep_before_and_after(
    app: FastAPI, gw: Gateway
) -> None:
    body = {"target_systolic": 150.0}
    async with client(app) as c:
        refused = await c.put(
            "/patients/p-east/targets", json=body, headers=auth_headers(app, Role.ADMIN, "t-east")
        )
        assert refused.status_code == 403
        other = await c.put(
            "/patients/p-east/targets", json=body, headers=auth_headers(app, tenant="t-west")
        )
        assert other.status_code == 404
        ok = await c.put(
            "/patients/p-east/targets", json=body, headers=auth_headers(app, tenant="t-east")
        )
        assert ok.status_code == 200, ok.text
    (entry,) = [e for e in await gw.stores.audit.entries(subject_id="p-east") if e.action != "read"]
    assert entry.action == "set_targets"
    assert (entry.before, entry.after) == ({}, body)
    assert (entry.role, entry.tenant) == (Role.CLINICIAN, "t-east")


async def test_a_device_is_never_bound_to_another_tenants_patient(
    app: FastAPI, gw: Gateway
) -> None:
    west = auth_headers(app, Role.ADMIN, "t-west")
    async with client(app) as c:
        r = await c.post("/devices/cuff-west/bind", json={"patient_id": "p-east"}, headers=west)
        assert r.status_code == 422
        assert "no patient" in r.json()["detail"]
        r = await c.post("/devices/cuff-east/bind", json={"patient_id": "p-west"}, headers=west)
        assert r.status_code == 404
        r = await c.post(
            "/devices",
            json={"device_id": "cuff-x", "kind": "bp", "patient_id": "p-east"},
            headers=west,
        )
        assert r.status_code == 422
        r = await c.post(
            "/devices", json={"device_id": "cuff-y", "kind": "bp", "tenant": "t-east"}, headers=west
        )
        assert r.status_code == 422  # the tenant is the token's, never the body's
    assert [b.patient_id for b in gw.registry.get("cuff-west").bindings] == ["p-west"]  # type: ignore[union-attr]
    assert gw.registry.get("cuff-x") is None


async def test_health_data_reads_are_audited(app: FastAPI, gw: Gateway) -> None:
    headers = auth_headers(app, tenant="t-east", user="dr.wang")
    async with client(app) as c:
        assert (await c.get("/patients/p-east/glycaemia", headers=headers)).status_code == 200
        assert (await c.get("/history/p-east/latest", headers=headers)).status_code == 200
    reads = [e for e in await gw.stores.audit.entries(subject_id="p-east") if e.action == "read"]
    assert [(e.actor, e.subject_type, e.detail["route"]) for e in reads] == [
        ("dr.wang", "patient", "GET /patients/{patient_id}/glycaemia"),
        ("dr.wang", "patient", "GET /history/{patient_id}/latest"),
    ]
