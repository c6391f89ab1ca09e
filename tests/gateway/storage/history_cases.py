"""History API checks shared by every readings backend (run through the ASGI app)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from devices.timeparse import format_ts
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.storage.patients import Patient
from tests.gateway.storage.helpers import T0, bp, ecg_chunks, glucose
from tests.support.auth import auth_headers


async def check_history_api(gw: Gateway) -> None:
    await gw.readings.write([bp(i, 100.0 + i, minutes=i) for i in range(10)])
    await gw.readings.write([glucose(1, 4.0, minutes=1), glucose(2, 6.0, minutes=30)])
    await gw.readings.write(ecg_chunks(20.0))
    await gw.stores.patients.save_patient(Patient("p-1", "t1", T0))
    app = create_app(gateway=gw)
    transport = httpx.ASGITransport(app=app)
    rng = {"start": format_ts(T0), "end": format_ts(T0 + timedelta(hours=1))}
    headers = auth_headers(app, Role.CLINICIAN, "t1")
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        raw = (await c.get("/history/p-1/readings", params={"kind": "bp", **rng})).json()
        assert [r["seq"] for r in raw["readings"]] == list(range(10))
        agg = (
            await c.get("/history/p-1/readings", params={"kind": "bp", "every": "5m", **rng})
        ).json()
        assert agg["every_s"] == 300
        assert [b["start"] for b in agg["buckets"]] == [
            format_ts(T0),
            format_ts(T0 + timedelta(minutes=5)),
        ]
        assert agg["buckets"][1]["fields"]["systolic"]["mean"] == pytest.approx(107.0)
        bad = await c.get("/history/p-1/readings", params={"kind": "bp", "every": "5x", **rng})
        assert bad.status_code == 422
        every_kind = (await c.get("/history/p-1/readings", params=rng)).json()
        assert every_kind["kind"] is None
        kinds = {r["kind"] for r in every_kind["readings"]}
        assert kinds == {"bp", "glucose", "ecg"}
        no_kind = await c.get("/history/p-1/readings", params={"every": "5m", **rng})
        assert no_kind.status_code == 422  # windows are of one kind
        minute = {"start": format_ts(T0), "end": format_ts(T0 + timedelta(minutes=1))}
        ecg = await c.get(
            "/history/p-1/readings", params={"kind": "ecg", "samples": "true", **minute}
        )
        assert ecg.status_code == 200, ecg.text
        assert all(r["ecg"]["samples"] for r in ecg.json()["readings"])
        too_long = await c.get("/history/p-1/readings", params={"samples": "true", **rng})
        assert too_long.status_code == 422  # raw samples: ten minutes at most
        latest = (await c.get("/history/p-1/latest")).json()["latest"]
        assert latest["bp"]["seq"] == 9
        assert latest["glucose"]["values"] == {"glucose": 6.0}
        strip = await c.get(
            "/patients/p-1/ecg/strip",
            params={
                "start": format_ts(T0 + timedelta(seconds=2)),
                "end": format_ts(T0 + timedelta(seconds=12)),
            },
        )
        assert strip.status_code == 200, strip.text
        body = strip.json()
        assert body["device_id"] == "patch-1"
        assert len(body["samples"]) == 2500
        assert 10 <= len(body["beats"]) <= 13
        assert body["heart_rate"] == pytest.approx(72.0, abs=2.0)
        none = await c.get(
            "/patients/p-1/ecg/strip",
            params={"start": format_ts(T0 - timedelta(minutes=5)), "end": format_ts(T0)},
        )
        assert none.status_code == 404
