"""Provisioned credentials + ACL on a real Mosquitto: a device publishes only as itself and reads
nothing; anonymous and wrong-password clients are refused; the gateway user sees device data."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.model import utcnow
from devices.registry import Device
from gateway.provision import provision
from gateway.reserved import GATEWAY_USER
from tests.support.servers import Mosquitto, mosquitto_server

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Mosquitto, dict[str, str]]]:
    devices = [
        Device("dev-a", "t1", "bp"),
        Device("dev-b", "t1", "bp"),
        Device("old-c", "t1", "bp", retired_at=utcnow()),
    ]
    out = provision(devices, tmp_path / "deploy", gateway_password="gw-pass-123456")
    creds = {**out.new_credentials, GATEWAY_USER: "gw-pass-123456"}
    assert "old-c" not in creds  # retired devices get no credentials
    assert oct(out.password_file.stat().st_mode & 0o777) == "0o600"
    extra = f"allow_anonymous false\npassword_file {out.password_file}\nacl_file {out.acl_file}\n"
    with mosquitto_server(tmp_path / "mosquitto", extra) as server:
        yield server, creds


class Client:
    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}-{time.time()}")
        if user:
            self.c.username_pw_set(user, password)
        self.connected = threading.Event()
        self.refused = threading.Event()
        self.subscribed = threading.Event()

        def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
            (self.refused if getattr(rc, "is_failure", False) else self.connected).set()

        self.c.on_connect = on_connect
        self.c.on_subscribe = lambda *_a: self.subscribed.set()
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def wait(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.connected.is_set():
                return True
            if self.refused.is_set():
                return False
            time.sleep(0.02)
        return False

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.c.subscribe(topic, qos=1)
        assert self.subscribed.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def attempt(port: int, user: str, password: str, topic: str, payload: bytes) -> None:
    """Try one publish on a fresh connection; a denial may cost the connection."""
    c = Client(port, user, password)
    try:
        assert c.wait()
        with contextlib.suppress(RuntimeError, ValueError):
            c.c.publish(topic, payload, qos=1).wait_for_publish(2)
    finally:
        c.close()


def test_devices_publish_only_as_themselves_and_read_nothing(
    secured: tuple[Mosquitto, dict[str, str]],
) -> None:
    broker, creds = secured
    gw = Client(broker.port, GATEWAY_USER, creds[GATEWAY_USER])
    a = Client(broker.port, "dev-a", creds["dev-a"])
    b = Client(broker.port, "dev-b", creds["dev-b"])
    try:
        assert gw.wait()
        assert a.wait()
        assert b.wait()
        gw.subscribe("hm/v1/+/+/+")
        b.subscribe("hm/v1/#")
        b.subscribe("hm/alerts/v1/#")
        a.publish("hm/v1/t1/dev-a/bp", b"own")  # allowed
        # Denied publishes: the broker drops them (and may drop the offending connection, so
        # each attempt gets its own connection).
        for topic in (
            "hm/v1/t1/dev-b/bp",  # as another device
            "hm/v1/t2/dev-a/bp",  # under another tenant
            "hm/alerts/v1/t1/p-001",  # devices cannot raise alerts
        ):
            attempt(broker.port, "dev-a", creds["dev-a"], topic, b"spoofed")
        gw.publish("hm/alerts/v1/t1/p-001", b"real alert")  # the gateway may
        gw.publish("hm/v1/t1/deadletter", b"dead letter")
        time.sleep(1.0)
        assert gw.messages == [("hm/v1/t1/dev-a/bp", b"own")]
        assert b.messages == []  # dev-b reads neither dev-a's data nor alerts nor dead letters
    finally:
        for c in (gw, a, b):
            c.close()


def test_anonymous_wrong_password_and_retired_are_refused(
    secured: tuple[Mosquitto, dict[str, str]],
) -> None:
    broker, _creds = secured
    for user, password in ((None, None), ("dev-a", "wrong"), ("old-c", "anything")):
        c = Client(broker.port, user, password)
        try:
            assert not c.wait(), f"{user} must be refused"
        finally:
            c.close()
