"""Two tenants each have an elder "p-001": a patient is its tenant and id, in storage, in the
detectors, on the desk, through a snapshot and a restart, and through the API.

Each tenant's cuff sends a suspect crisis (pulse pressure under 20 mmHg), which waits for a repeat
in that elder's BP window. Were the windows shared, the other tenant's suspect reading would
confirm it; kept apart, only each elder's own repeat does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alerts.actor import Actor, Role
from devices.model import PatientKey, utcnow
from gateway.admin import PatientDetails
from gateway.api.app import create_app
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.api import client
from tests.support.auth import auth_headers
from tests.support.wire import v1

CRISIS = "bp.hypertensive_crisis"
PID = "p-001"
EAST, WEST = PatientKey("t-east", PID), PatientKey("t-west", PID)
CUFF = {EAST: "cuff-east", WEST: "cuff-west"}


def bp(key: PatientKey, seq: int, s: int, d: int, ts: datetime) -> Inbound:
    device = CUFF[key]
    data = {"systolic": s, "diastolic": d, "pulse": 80, "unit": "mmHg"}
    return Inbound(f"hm/v1/{key.tenant}/{device}/bp", v1(device, "bp", seq, data, ts), utcnow())


def settings(tmp_path: Path) -> Settings:
    return Settings(mode="test", data_dir=tmp_path, snapshot_interval_s=3600)


async def started(tmp_path: Path) -> Gateway:
    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    return gw


async def provision(gw: Gateway, since: datetime) -> None:
    """Each tenant's administrator registers its own "p-001" and binds its own cuff."""
    for key, name, alone in ((EAST, "Wang Fang", True), (WEST, "Li Lei", False)):
        admin = Actor(f"admin.{key.tenant}", Role.ADMIN, key.tenant)
        await gw.admin.put_patient(admin, PID, PatientDetails(name=name, lives_alone=alone))
        await gw.admin.register_device(admin, CUFF[key], "bp", patient_id=PID, since=since)
    await gw.refresh_patient_flags()


async def crises(gw: Gateway) -> list[tuple[str, str]]:
    """(tenant, patient) of every stored crisis alert."""
    return sorted((a.tenant, a.patient_id) for a in await gw.stores.alerts.query(code=CRISIS))


async def crash(gw: Gateway) -> None:
    """Die without the orderly stop (no final snapshot, no flush)."""
    for task in gw._tasks:
        task.cancel()
    if gw.sending is not None:
        gw.sending.cancel()
    await gw.readings.close()
    await gw.db.dispose()


async def handle(gw: Gateway, batch: Sequence[Inbound]) -> None:
    await gw.pipeline.handle(batch)


async def test_two_tenants_p001_readings_alerts_and_detector_state_stay_apart(
    tmp_path: Path,
) -> None:
    t0 = utcnow() - timedelta(minutes=4)  # recent: not late
    gw = await started(tmp_path)
    try:
        await provision(gw, t0 - timedelta(days=1))
        await handle(gw, [bp(EAST, 1, 186, 172, t0)])  # East's suspect crisis waits
        await handle(gw, [bp(WEST, 1, 188, 174, t0 + timedelta(minutes=1))])  # so does West's
        assert await crises(gw) == []  # neither confirmed the other's
        await handle(gw, [bp(EAST, 2, 187, 173, t0 + timedelta(minutes=2))])
        assert await crises(gw) == [("t-east", PID)]

        assert sorted(gw.engine.patients()) == [EAST, WEST]
        assert gw.desk.flags_of(EAST) == frozenset({"lives_alone"})
        assert gw.desk.flags_of(WEST) == frozenset()
        assert [a.patient for a in gw.desk.active() if a.code == CRISIS] == [EAST]
        assert gw.desk.find_active(WEST, CRISIS) is None
        span = (t0 - timedelta(hours=1), t0 + timedelta(hours=1))
        for key, systolic in ((EAST, [186, 187]), (WEST, [188])):
            rows = await gw.readings.query(key, None, *span)
            assert [(r.device_id, r.values["systolic"]) for r in rows] == [
                (CUFF[key], float(s)) for s in systolic
            ]
    finally:
        await gw.stop()


async def test_snapshot_and_restart_keep_the_two_p001_apart(tmp_path: Path) -> None:
    t0 = utcnow() - timedelta(minutes=4)  # recent: not late
    gw = await started(tmp_path)
    await provision(gw, t0 - timedelta(days=1))
    await handle(gw, [bp(EAST, 1, 186, 172, t0), bp(WEST, 1, 150, 95, t0)])
    assert gw.recovery is not None
    await gw.recovery.snapshot()
    await crash(gw)

    gw = await started(tmp_path)
    try:
        assert sorted(gw.engine.patients()) == [EAST, WEST]
        # West's suspect crisis is West's first: it waits, East's restored window is not West's.
        await handle(gw, [bp(WEST, 2, 188, 174, t0 + timedelta(minutes=1))])
        assert await crises(gw) == []
        # East's repeat confirms East's own window, restored from the snapshot.
        await handle(gw, [bp(EAST, 2, 187, 173, t0 + timedelta(minutes=2))])
        assert await crises(gw) == [("t-east", PID)]
        await handle(gw, [bp(WEST, 3, 189, 175, t0 + timedelta(minutes=3))])
        assert await crises(gw) == [("t-east", PID), ("t-west", PID)]
    finally:
        await gw.stop()


async def test_each_tenants_clinician_sees_only_its_own_p001(tmp_path: Path) -> None:
    t0 = utcnow() - timedelta(minutes=4)  # recent: not late
    gw = await started(tmp_path)
    try:
        await provision(gw, t0 - timedelta(days=1))
        await handle(gw, [bp(EAST, 1, 195, 125, t0), bp(WEST, 1, 120, 80, t0)])
        later = t0 + timedelta(minutes=1)
        await handle(gw, [bp(EAST, 2, 196, 126, later), bp(WEST, 2, 197, 127, later)])
        app = create_app(gateway=gw)
        east = auth_headers(app, Role.CLINICIAN, tenant=EAST.tenant)
        west = auth_headers(app, Role.CLINICIAN, tenant=WEST.tenant)
        async with client(app) as c:
            seen: dict[str, str] = {}
            for key, headers, name, systolic in (
                (EAST, east, "Wang Fang", [195.0, 196.0]),
                (WEST, west, "Li Lei", [120.0, 197.0]),
            ):
                assert (await ok(c, f"/patients/{PID}", headers))["name"] == name
                rows = (await ok(c, f"/history/{PID}/readings", headers))["readings"]
                assert [r["values"]["systolic"] for r in rows] == systolic
                (alert,) = await ok(c, f"/alerts?patient_id={PID}", headers)
                assert alert["code"] == CRISIS
                seen[key.tenant] = alert["alert_id"]
            assert seen["t-east"] != seen["t-west"]
            for theirs, headers in ((seen["t-west"], east), (seen["t-east"], west)):
                assert (await c.get(f"/alerts/{theirs}", headers=headers)).status_code == 404
                r = await c.post(f"/alerts/{theirs}/ack", headers=headers, json={})
                assert r.status_code == 404
        assert all(a.state.value == "open" for a in gw.desk.active())
    finally:
        await gw.stop()


async def ok(c: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    r = await c.get(path, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()
