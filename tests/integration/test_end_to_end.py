"""Walking skeleton end to end: paho publishes to a real Mosquitto, the gateway stores the
readings in SQLite, raises alerts, and the API serves both."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.model import utcnow
from devices.registry import Binding, Device
from devices.timeparse import format_ts
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.auth import auth_headers
from tests.support.servers import Mosquitto
from tests.support.wire import v1

pytestmark = pytest.mark.integration


async def wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_readings_and_alerts_flow_through_broker_and_api(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = Settings(
        mode="test",
        data_dir=tmp_path,
        mqtt_port=mosquitto.port,
        mqtt_client_id="gw-e2e",
        tick_interval_s=0.5,
    )
    gw = Gateway(settings)
    await gw.start()
    now = utcnow()
    for dev, pid in (("cuff-1", "p-001"), ("cgm-1", "p-002")):
        d = Device(dev, "t1", "bp", bindings=(Binding(pid, now - timedelta(days=1)),))
        await gw.stores.patients.save_device(d, now)
        gw.registry.put(d)
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)

    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-pub")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    ts = [format_ts(now - timedelta(seconds=60 - i)) for i in range(6)]
    msgs = [
        (
            "hm/v1/t1/cuff-1/bp",
            v1("cuff-1", "bp", 1, {"systolic": 132, "diastolic": 84, "unit": "mmHg"}, ts[0]),
        ),
        (
            "hm/v1/t1/cuff-1/bp",
            v1(
                "cuff-1",
                "bp",
                2,
                {"systolic": 25.6, "diastolic": 16.4, "pulse": 101, "unit": "kPa"},
                ts[1],
            ),
        ),
        (
            "hm/v1/t1/cuff-1/bp",
            v1("cuff-1", "bp", 3, {"systolic": 194, "diastolic": 126, "unit": "mmHg"}, ts[2]),
        ),
        (
            "hm/v1/t1/cgm-1/glucose",
            v1("cgm-1", "glucose", 1, {"value": 50, "unit": "mg/dL", "source": "cgm"}, ts[3]),
        ),
        ("hm/v1/t1/cgm-1/glucose", b'{"truncated": '),
        (
            "hm/v1/t1/cuff-1/bp",
            v1("cuff-1", "bp", 3, {"systolic": 194, "diastolic": 126, "unit": "mmHg"}, ts[2]),
        ),  # duplicate
    ]
    for topic, payload in msgs:
        pub.publish(topic, payload, qos=1).wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()

    app = create_app(gateway=gw)
    transport = httpx.ASGITransport(app=app)
    ops = auth_headers(app, Role.OPERATOR, "t1")
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=auth_headers(app, user="dr.li")
    ) as client:

        async def all_in() -> bool:
            r = await client.get("/deadletters", headers=ops)
            return (
                len(r.json()) == 1
                and len((await client.get("/history/p-001/readings")).json()["readings"]) == 3
            )

        await wait_for(all_in)
        bp = (await client.get("/history/p-001/readings", params={"kind": "bp"})).json()["readings"]
        assert [r["seq"] for r in bp] == [1, 2, 3]  # the duplicate is stored once
        assert bp[1]["values"]["systolic"] == pytest.approx(25.6 * 7.50062)
        glucose = (await client.get("/history/p-002/readings")).json()["readings"]
        assert glucose[0]["values"]["glucose"] == pytest.approx(50 / 18.016)
        dead = (await client.get("/deadletters", headers=ops)).json()
        assert dead[0]["reason"] == "malformed"

        async def alerts_in() -> bool:
            codes = {a["code"] for a in (await client.get("/alerts")).json()}
            return "glucose.urgent_low" in codes and "bp.hypertensive_crisis" in codes

        await wait_for(alerts_in)
        lows = [a for a in (await client.get("/alerts")).json() if a["patient_id"] == "p-002"]
        assert [a["code"] for a in lows] == ["glucose.urgent_low"]  # one alert, not low + urgent
        crisis = (await client.get("/alerts", params={"code": "bp.hypertensive_crisis"})).json()
        assert crisis[0]["patient_id"] == "p-001"
        assert crisis[0]["priority"] == "high"
        assert "194/126" in crisis[0]["message"]["en"]
        assert (await client.get("/ready")).status_code == 200
        ack = await client.post(f"/alerts/{crisis[0]['alert_id']}/ack", json={})
        assert ack.status_code == 200
        assert ack.json()["state"] == "acknowledged"
        detail = (await client.get(f"/alerts/{crisis[0]['alert_id']}")).json()
        assert [e["event"] for e in detail["events"]][-1] == "acknowledged"
        assert detail["events"][-1]["by"] == "dr.li"
    await gw.stop()
