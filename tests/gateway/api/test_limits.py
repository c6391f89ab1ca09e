"""Bounded input through the real app: capped lists and ranges, capped bodies (never echoed),
per-client rate limits and a cap on live streams per user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from alerts.model import Alert, AlertEvent, EventType, Priority, State
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.api.limits import RateLimiter, StreamSlots
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import AlertRecord
from gateway.storage.patients import Patient
from tests.support.api import client
from tests.support.auth import auth_headers

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        mode="test", data_dir=tmp_path, api_max_body_bytes=4096, api_rate_burst=30,
        api_rate_per_minute=60, api_streams_per_user=2,
    )  # fmt: skip
    gw = Gateway(settings, clock=lambda: NOW)
    await gw.start(mqtt=False)
    await gw.stores.patients.save_patient(Patient("p-1", "t1", NOW))
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def test_lists_and_ranges_are_bounded(app: FastAPI) -> None:
    h = auth_headers(app)
    async with client(app) as c:
        assert (await c.get("/alerts?limit=100000000", headers=h)).status_code == 422
        assert (await c.get("/alerts?limit=500", headers=h)).status_code == 200
        assert (await c.get("/referrals?limit=501", headers=h)).status_code == 422
        ages = "start=1826-11-29T08:00:00Z&end=2026-11-29T08:00:00Z"
        r = await c.get(f"/history/p-1/readings?kind=bp&{ages}", headers=h)
        assert r.status_code == 422
        assert "page through" in r.text
        assert (await c.get(f"/history/p-1/readings?{ages}", headers=h)).status_code == 422
        hour = "start=2026-11-29T07:00:00Z&end=2026-11-29T08:00:00Z"
        raw = await c.get(f"/history/p-1/readings?samples=true&{hour}", headers=h)
        assert raw.status_code == 422  # ECG samples only over short ranges
        fhir = await c.get("/fhir/Observation?patient=p-1&date=ge1826-01-01", headers=h)
        assert fhir.status_code == 400


async def test_an_oversized_body_is_refused_and_not_echoed(app: FastAPI) -> None:
    secret = "x" * 10_000
    async with client(app) as c:
        for headers in ({}, auth_headers(app)):
            r = await c.post("/alerts/a-1/comment", json={"text": secret}, headers=headers)
            assert r.status_code == 413
            assert secret[:50] not in r.text

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(10):
                yield b"y" * 1000

        r = await c.post(
            "/alerts/a-1/comment",
            content=chunks(),
            headers={"content-type": "application/json", **auth_headers(app)},
        )
        assert r.status_code == 413


async def test_each_client_is_rate_limited(app: FastAPI) -> None:
    h = auth_headers(app, Role.CLINICIAN, "t1", "dr.busy")
    other = auth_headers(app, Role.CLINICIAN, "t1", "dr.calm")
    async with client(app) as c:
        codes = [(await c.get("/auth/me", headers=h)).status_code for _ in range(35)]
        assert codes[:30] == [200] * 30
        assert codes[30:] == [429] * 5
        r = await c.get("/auth/me", headers=h)
        assert int(r.headers["retry-after"]) >= 1
        assert (await c.get("/auth/me", headers=other)).status_code == 200


async def test_live_streams_per_user_are_capped(app: FastAPI) -> None:
    slots: StreamSlots = app.state.stream_slots
    assert slots.open("dr.wang")
    assert slots.open("dr.wang")
    async with client(app) as c:
        r = await c.get("/stream/alerts", headers=auth_headers(app, user="dr.wang"))
    assert r.status_code == 429
    assert slots.count("dr.wang") == 2


def test_rate_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, 2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [None, None]
    assert limiter.take("a") == 1.0
    now[0] = 0.5
    assert limiter.take("a") == 0.5
    now[0] = 1.0
    assert limiter.take("a") is None
    assert limiter.take("b") is None


def test_stream_slots_are_given_back() -> None:
    slots = StreamSlots(1)
    assert slots.open("u")
    assert not slots.open("u")
    slots.close("u")
    assert slots.open("u")


async def test_lists_page_through_cursors_of_their_own_tenant(app: FastAPI) -> None:
    gw = app.state.gateway
    for i in range(7):
        await gw.stores.patients.save_patient(Patient(f"p-{i + 2}", "t1", NOW))
    await gw.stores.patients.save_patient(Patient("q-other", "t2", NOW))
    events = [
        AlertEvent(EventType.OPENED, NOW, alert(f"a-{i}", "t1" if i % 2 else "t2", i))
        for i in range(9)
    ]
    await gw.stores.records.commit(AlertRecord(at=NOW, events=events))
    h = auth_headers(app)
    async with client(app) as c:
        seen: list[str] = []
        url: str | None = "/alerts?limit=2"
        while url is not None:
            r = await c.get(url, headers=h)
            assert r.status_code == 200, r.text
            seen += [a["alert_id"] for a in r.json()]
            url = r.links.get("next", {}).get("url")
        assert seen == ["a-7", "a-5", "a-3", "a-1"]  # newest first, t1 only, each once
        patients: list[str] = []
        url = "/patients?limit=3"
        while url is not None:
            r = await c.get(url, headers=auth_headers(app, Role.ADMIN))
            patients += [p["patient_id"] for p in r.json()]
            url = r.links.get("next", {}).get("url")
        assert patients == [f"p-{i}" for i in range(1, 9)]
        for bad in ("x", "WyJ4Il0", "W10"):  # not base64 JSON, a wrong type, a wrong size
            assert (await c.get(f"/alerts?cursor={bad}", headers=h)).status_code == 422


def alert(alert_id: str, tenant: str, minutes: int) -> Alert:
    at = NOW + timedelta(minutes=minutes)
    return Alert(
        alert_id=alert_id, tenant=tenant, patient_id="p-1", code="bp.hypertensive_crisis",
        group="bp.hypertensive_crisis", priority=Priority.HIGH, state=State.OPEN, opened_at=at,
        updated_at=at, source_ts=at, message={"en": "crisis", "zh-CN": "危象"}, evidence={},
    )  # fmt: skip
