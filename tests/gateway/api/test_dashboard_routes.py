"""The dashboard's own routes (queue, glycaemia, limits, ECG strips): a token is needed, health
data only for clinicians and cardiologists, and another tenant's patient is not found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from alerts.model import AlertEvent, EventType
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import AlertRecord
from gateway.storage.patients import Patient
from tests.support.api import client, crisis_alert
from tests.support.auth import auth_headers

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
DAY = "2026-11-29T08:00:00Z"
ROUTES = (
    "/queue",
    "/patients/p-east/glycaemia",
    "/patients/p-east/limits",
    f"/patients/p-east/ecg/chunks?start=2026-11-28T08:00:00Z&end={DAY}",
    f"/patients/p-east/ecg/strip?start=2026-11-29T07:55:00Z&end={DAY}",
)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=lambda: NOW)
    await gw.start(mqtt=False)
    for pid, tenant in (("p-east", "t-east"), ("p-west", "t-west")):
        await gw.stores.patients.save_patient(Patient(pid, tenant, NOW, name=pid))
    events = [
        AlertEvent(
            EventType.OPENED,
            NOW - timedelta(minutes=i),
            crisis_alert(f"a-{t}", t, f"p-{t[2:]}", NOW),
        )
        for i, t in enumerate(("t-east", "t-west"))
    ]
    await gw.stores.records.commit(AlertRecord(at=NOW, events=events))
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def test_no_token_is_refused(app: FastAPI) -> None:
    async with client(app) as c:
        for path in ROUTES:
            assert (await c.get(path)).status_code == 401, path


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OPERATOR])
async def test_roles_without_health_data_are_forbidden(app: FastAPI, role: Role) -> None:
    async with client(app) as c:
        for path in ROUTES:
            r = await c.get(path, headers=auth_headers(app, role, tenant="t-east"))
            assert r.status_code == 403, path


async def test_other_tenants_patient_is_not_found(app: FastAPI) -> None:
    west = auth_headers(app, Role.CLINICIAN, tenant="t-west")
    east = auth_headers(app, Role.CLINICIAN, tenant="t-east")
    async with client(app) as c:
        for path in ROUTES[1:]:
            assert (await c.get(path, headers=west)).status_code == 404, path
        assert (await c.get("/patients/p-east/limits", headers=east)).status_code == 200
        assert (await c.get("/patients/p-east/glycaemia", headers=east)).status_code == 200
        assert (await c.get(ROUTES[4], headers=east)).status_code == 404  # no ECG stored


async def test_queue_holds_only_the_callers_tenant(app: FastAPI) -> None:
    async with client(app) as c:
        r = await c.get("/queue", headers=auth_headers(app, Role.CLINICIAN, tenant="t-east"))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["alert_id"], i["patient"]["name"]) for i in items] == [("a-t-east", "p-east")]
