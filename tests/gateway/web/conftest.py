"""Fixtures for the dashboard's browser tests: a live gateway on a real Mosquitto, Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser

from gateway.actor import Role
from gateway.runtime.settings import Settings
from tests.support.browser import REPO, LiveGateway, chromium, live_gateway
from tests.support.servers import Mosquitto

TENANT = "t-east"
CLINICIAN = "dr.li"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def gateway(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[LiveGateway]:
    # The demo's escalation policy, for this tenant: queue rows count down to the next tier.
    policy = tmp_path / "policy.toml"
    demo = (REPO / "deploy" / "policies" / "demo.toml").read_text()
    policy.write_text(demo.replace('tenant = "demo"', f'tenant = "{TENANT}"'))
    settings = Settings(
        mode="test",
        policies=policy,
        data_dir=tmp_path / "gw",
        mqtt_port=mosquitto.port,
        mqtt_client_id="gw-dashboard",
        late_after_s=30 * 86400.0,  # the tests publish weeks of history at once
    )
    with live_gateway(settings) as gw:
        gw.add_user(CLINICIAN, Role.CLINICIAN, TENANT, PASSWORD)
        gw.act_for(TENANT)
        yield gw


def add_patient(gw: LiveGateway, patient_id: str, **fields: object) -> None:
    body = {"name": None, "birth_year": 1942, **fields}
    gw.ok("PUT", f"/patients/{patient_id}", json=body)


def add_device(gw: LiveGateway, device_id: str, kind: str, patient_id: str) -> None:
    body = {"device_id": device_id, "kind": kind, "patient_id": patient_id}
    gw.ok("POST", "/devices", json={**body, "since": "2020-01-01T00:00:00Z"})


def publish_all(mosquitto: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    """Publish device messages in order (QoS 1) through the real broker."""
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="web-test-devices")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        for topic, payload in messages:
            pub.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()


def wait_stored(gw: LiveGateway, patient_id: str, kind: str, start: str, count: int) -> None:
    """Wait until the gateway has stored `count` readings of `kind` since `start` (a busy
    machine may keep a query waiting behind the ingest's writes: it is asked again)."""
    deadline = time.monotonic() + 180
    got: list[object] = []
    while time.monotonic() < deadline:
        try:
            r = gw.api(
                "GET",
                f"/history/{patient_id}/readings",
                params={"kind": kind, "start": start, "limit": 10000},
            )
        except httpx.TimeoutException:
            continue
        if r.status_code == 200:
            got = r.json()["readings"]
            if len(got) >= count:
                return
        time.sleep(0.3)
    raise AssertionError(f"{len(got)} of {count} {kind} readings stored")
