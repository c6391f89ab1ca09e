"""FHIR export through the ASGI app: stored readings come back as a searchset Bundle."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx

from devices.codecs import decode_payload
from devices.model import utcnow
from devices.registry import Binding, Device
from gateway.api.app import create_app
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.auth import auth_headers
from tests.support.wire import v1


async def test_fhir_observation_search_round_trips_through_the_codec(tmp_path: Path) -> None:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path))
    await gw.start(mqtt=False)
    now = utcnow()
    dev = Device("cuff-1", "t1", "bp", bindings=(Binding("p-1", now - timedelta(days=1)),))
    await gw.stores.patients.save_device(dev, now)
    gw.registry.put(dev)
    payload = v1(
        "cuff-1", "bp", 5, {"systolic": 140, "diastolic": 90, "pulse": 70, "unit": "mmHg"}, now
    )
    await gw.pipeline.handle([Inbound("hm/v1/t1/cuff-1/bp", payload, now)])
    app = create_app(gateway=gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(app)
    ) as c:
        r = await c.get("/fhir/Observation", params={"patient": "Patient/p-1", "code": "85354-9"})
        assert r.status_code == 200
        doc = r.json()
        assert (doc["resourceType"], doc["type"], doc["total"]) == ("Bundle", "searchset", 1)
        obs = doc["entry"][0]["resource"]
        assert obs["subject"] == {"reference": "Patient/p-1"}
        assert {c["code"]["coding"][0]["code"] for c in obs["component"]} == {
            "8480-6",
            "8462-4",
            "8867-4",
        }
        # What we export, a FHIR device could send back in: the same reading.
        (back,) = decode_payload("hm/v1/t1/cuff-1/bp", json.dumps(obs).encode(), now)
        assert (back.seq, back.values["systolic"], back.patient_id) == (5, 140, "p-1")
        assert (
            await c.get("/fhir/Observation", params={"patient": "p-1", "code": "x"})
        ).status_code == 400
        empty = await c.get("/fhir/Observation", params={"patient": "p-1", "code": "8867-4"})
        assert empty.json()["total"] == 0
    await gw.stop()
