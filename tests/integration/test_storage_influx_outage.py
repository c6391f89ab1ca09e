"""No loss when InfluxDB goes away mid-stream: readings are not acknowledged to the broker until
InfluxDB has them, so they survive an InfluxDB outage and even a gateway restart during it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.kinds import Kind
from devices.model import PatientKey, utcnow
from devices.registry import Binding, Device
from devices.timeparse import format_ts
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.influx import InfluxD
from tests.support.servers import Mosquitto
from tests.support.wire import v1

pytestmark = pytest.mark.integration

N = 90


def hr(seq: int, ts: str) -> bytes:
    return v1("hr-1", "hr", seq, {"value": 60 + seq % 40}, ts)


async def stored(gw: Gateway) -> set[int]:
    now = utcnow()
    rows = await gw.readings.query(
        PatientKey("t1", "p-1"), Kind.HR, now - timedelta(hours=1), now + timedelta(hours=1)
    )
    return {r.seq for r in rows}


async def wait_stored(gw: Gateway, n: int, seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while len(await stored(gw)) < n:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {len(await stored(gw))} of {n} readings stored")
        await asyncio.sleep(0.1)


async def start_gateway(settings: Settings) -> Gateway:
    gw = Gateway(settings)
    await gw.start()
    now = utcnow()
    dev = Device("hr-1", "t1", "hr", bindings=(Binding("p-1", now - timedelta(days=1)),))
    await gw.stores.patients.save_device(dev, now)
    gw.registry.put(dev)
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)
    return gw


async def test_influx_outage_mid_stream_loses_nothing(
    mosquitto: Mosquitto, influxd: InfluxD, tmp_path: Path
) -> None:
    settings = Settings(
        mode="test",
        data_dir=tmp_path,
        mqtt_port=mosquitto.port,
        mqtt_client_id="gw-outage",
        readings_backend="influx",
        influx_url=influxd.url,
        influx_timeout_s=2.0,
        batch_linger_ms=5.0,
        tick_interval_s=0.5,
        retention_interval_s=0,
    )
    gw = await start_gateway(settings)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-outage")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    base = utcnow() - timedelta(seconds=N)

    def publish(seqs: range) -> None:
        for seq in seqs:
            ts = format_ts(base + timedelta(seconds=seq))
            pub.publish("hm/v1/t1/hr-1/hr", hr(seq, ts), qos=1).wait_for_publish(5)

    try:
        publish(range(1, 31))
        await wait_stored(gw, 30)
        influxd.stop()  # InfluxDB goes away mid-stream
        publish(range(31, 61))
        await asyncio.sleep(1.0)
        assert gw.ingest is not None
        acked_during_outage = gw.ingest.acked
        await asyncio.sleep(0.5)
        assert gw.ingest.acked == acked_during_outage  # nothing stored, nothing acknowledged
        await gw.stop()  # and the gateway restarts while InfluxDB is still down
        publish(range(61, N + 1))
        influxd.start()
        gw = await start_gateway(settings)
        await wait_stored(gw, N)
        assert await stored(gw) == set(range(1, N + 1))
    finally:
        pub.loop_stop()
        pub.disconnect()
        await gw.stop()
