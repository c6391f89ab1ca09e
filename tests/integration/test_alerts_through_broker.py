"""Every alert code end to end through a real Mosquitto: simulator scenarios and a real ECG record
are published with paho, the gateway (real MQTT ingest, SQLite, detectors, lifecycle) runs on a
virtual clock that follows the messages, and the alerts are read back through the API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Binding, Device
from devices.timeparse import parse_ts
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient
from simulator.render import render
from simulator.scenario import library, load
from simulator.sources import wfdb_messages
from simulator.wire import Message
from tests.support.auth import auth_headers
from tests.support.clock import VirtualClock
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENARIOS = sorted(library(), key=lambda p: p.stem)
# Scenario time runs faster than the wall clock here: readings are never "late" in this test.
LATE_AFTER_S = 30 * 86400.0
TICK_EVERY = timedelta(minutes=5)  # of scenario time


def reading_time(msg: Message) -> datetime | None:
    try:
        doc = json.loads(msg.payload)
        first = doc[0] if isinstance(doc, list) else doc
        return parse_ts(first["ts"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None  # a malformed payload of a fault scenario


async def start_gateway(
    mosquitto: Mosquitto, tmp_path: Path, clock: VirtualClock, name: str
) -> Gateway:
    settings = Settings(
        mode="test", data_dir=tmp_path / name, mqtt_port=mosquitto.port,
        mqtt_client_id=f"gw-{name}", late_after_s=LATE_AFTER_S, tick_interval_s=3600,
    )  # fmt: skip
    gw = Gateway(settings, clock=clock)
    await gw.start()
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)
    return gw


async def register(
    gw: Gateway,
    tenant: str,
    bindings: dict[str, str],
    kiosks: Iterable[str],
    since: datetime,
    alone: Iterable[str] = (),
) -> None:
    for patient_id in alone:
        await gw.stores.patients.save_patient(Patient(patient_id, tenant, since, lives_alone=True))
    await gw.refresh_patient_flags()
    for device_id, patient_id in bindings.items():
        dev = Device(device_id, tenant, "", bindings=(Binding(patient_id, since),))
        await gw.stores.patients.save_device(dev, since)
        gw.registry.put(dev)
    for device_id in kiosks:
        dev = Device(device_id, tenant, "", kiosk=True)
        await gw.stores.patients.save_device(dev, since)
        gw.registry.put(dev)


async def play(
    gw: Gateway, mosquitto: Mosquitto, clock: VirtualClock, messages: list[Message], name: str
) -> None:
    """Publish in order; the clock follows the readings, and timers tick as scenario time goes."""
    assert gw.ingest is not None
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{name}")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    last_tick: datetime | None = None
    try:
        for i, msg in enumerate(messages):
            t = reading_time(msg)
            if t is not None:
                if last_tick is None:
                    last_tick = t
                elif t - last_tick > TICK_EVERY:
                    # Let the gateway catch up, then fire its timers at the new time, as the
                    # ticker would have done while that scenario time passed.
                    await drain(gw, i)
                    clock.advance_to(t)
                    await gw.pipeline.tick()
                    last_tick = t
                clock.advance_to(t)
            pub.publish(msg.topic, msg.payload, qos=1).wait_for_publish(10)
        await drain(gw, len(messages))
        clock.advance(timedelta(seconds=1))
        await gw.pipeline.tick()
    finally:
        pub.loop_stop()
        pub.disconnect()


async def drain(gw: Gateway, published: int, seconds: float = 60.0) -> None:
    """Wait until the gateway has taken every published message through the pipeline (stored,
    acknowledged, then through detection and alerting)."""
    assert gw.ingest is not None
    deadline = asyncio.get_running_loop().time() + seconds
    while gw.pipeline.processed < published:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gateway processed {gw.pipeline.processed} of {published}")
        await asyncio.sleep(0.02)


async def opened_codes(gw: Gateway, tenant: str) -> set[str]:
    app = create_app(gateway=gw)
    headers = auth_headers(app, Role.CLINICIAN, tenant)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers) as client:  # fmt: skip
        alerts = (await client.get("/alerts", params={"limit": 500})).json()
        codes = {a["code"] for a in alerts}
        # an alert's code follows its severity (low -> urgent low): earlier codes are in its events
        for a in alerts:
            events = (await client.get(f"/alerts/{a['alert_id']}")).json()["events"]
            codes |= {e["detail"]["code_from"] for e in events if "code_from" in e["detail"]}
    return codes


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime.fromisoformat("2026-11-22T00:00:00+00:00"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_alerts_through_the_broker(
    path: Path, mosquitto: Mosquitto, tmp_path: Path, clock: VirtualClock
) -> None:
    rendered = render(load(path), seed=1)
    truth = rendered.truth_records()
    start = rendered.scenario.start
    clock.advance_to(start)
    gw = await start_gateway(mosquitto, tmp_path, clock, path.stem)
    try:
        await register(gw, truth["tenant"], truth["bindings"], truth["kiosks"],
                       start - timedelta(days=30), truth["lives_alone"])  # fmt: skip
        # Malformed and spoofed messages of fault scenarios are acknowledged (dead-lettered) too.
        await play(gw, mosquitto, clock, rendered.messages, path.stem)
        codes = await opened_codes(gw, truth["tenant"])
    finally:
        await gw.stop()
    assert set(truth["intended"]) <= codes, f"missing {set(truth['intended']) - codes}"


async def test_real_af_record_raises_ecg_af_through_the_broker(
    data_dir: Path, mosquitto: Mosquitto, tmp_path: Path, clock: VirtualClock
) -> None:
    """CinC 2017 A00005 (60 s, AF) streamed as an ECG patch in 1-second chunks."""
    start = datetime.fromisoformat("2026-11-22T08:00:00+00:00")
    clock.advance_to(start)
    gw = await start_gateway(mosquitto, tmp_path, clock, "cinc")
    try:
        await register(gw, "t1", {"patch-af": "p-af"}, [], start - timedelta(days=1))
        messages = list(wfdb_messages(data_dir / "ecg" / "cinc2017" / "A00005", tenant="t1",
                                      device_id="patch-af", start=start))  # fmt: skip
        await play(gw, mosquitto, clock, messages, "cinc")
        alerts = await gw.stores.alerts.query(patient_id="p-af", code="ecg.af")
    finally:
        await gw.stop()
    assert len(alerts) == 1
    evidence = alerts[0].evidence
    assert evidence["strip"]["device_id"] == "patch-af"
    assert evidence["heart_rate"] > 100
