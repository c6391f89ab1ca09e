"""Glycaemic figures only on enough data: below the consensus minimum (14 days, sensor active at
least 70 %) every derived figure is withheld and the counts say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from devices.kinds import Kind
from devices.model import Reading
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient
from tests.support.api import client
from tests.support.auth import auth_headers

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def cgm(patient: str, seq: int, at: datetime, mmol: float) -> Reading:
    return Reading(
        "t1", f"cgm-{patient}", Kind.GLUCOSE, seq, at, at, patient,
        values={"glucose": mmol}, attrs={"source": "cgm"},
    )  # fmt: skip


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=lambda: NOW)
    await gw.start(mqtt=False)
    for pid in ("p-one", "p-full", "p-none"):
        await gw.stores.patients.save_patient(Patient(pid, "t1", NOW))
    start = NOW - timedelta(days=14)
    full = [cgm("p-full", i, start + timedelta(minutes=5 * i), 5.0 + (i % 7)) for i in range(4032)]
    await gw.readings.write([cgm("p-one", 1, NOW - timedelta(hours=1), 2.4), *full])
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def test_figures_only_on_enough_data(app: FastAPI) -> None:
    async with client(app, auth_headers(app, tenant="t1")) as c:
        one = (await c.get("/patients/p-one/glycaemia")).json()
        none = (await c.get("/patients/p-none/glycaemia")).json()
        full = (await c.get("/patients/p-full/glycaemia")).json()
    for thin, n in ((one, 1), (none, 0)):
        assert (thin["sufficient"], thin["readings"]) == (False, n)
        assert thin["sensor_active_percent"] < 70
        assert (thin["mean_mmol"], thin["gmi_percent"], thin["cv_percent"]) == (None, None, None)
        assert (thin["ranges"], thin["agp"]) == ([], [])
    assert full["sufficient"] is True
    assert full["sensor_active_percent"] == 100.0
    assert sum(r["percent"] for r in full["ranges"]) == pytest.approx(100.0, abs=0.2)
    assert full["gmi_percent"] is not None
