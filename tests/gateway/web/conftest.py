"""Fixtures for the dashboard's browser tests: a live gateway on a real Mosquitto, Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from gateway.settings import Settings
from tests.support.browser import LiveGateway, chromium, live_gateway
from tests.support.servers import Mosquitto

TENANT = "t-east"
CLINICIAN = ("dr.li", "correct horse battery")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def gateway(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[LiveGateway]:
    settings = Settings(
        mode="test",
        data_dir=tmp_path / "gw",
        mqtt_port=mosquitto.port,
        mqtt_client_id="gw-dashboard",
    )
    with live_gateway(settings) as gw:
        yield gw


def add_patient(gw: LiveGateway, patient_id: str, **fields: object) -> None:
    body = {"tenant": TENANT, "name": None, "birth_year": 1942, **fields}
    gw.ok("PUT", f"/patients/{patient_id}", json=body)


def add_device(gw: LiveGateway, device_id: str, kind: str, patient_id: str) -> None:
    body = {"device_id": device_id, "tenant": TENANT, "kind": kind, "patient_id": patient_id}
    gw.ok("POST", "/devices", json={**body, "since": "2020-01-01T00:00:00Z"})
