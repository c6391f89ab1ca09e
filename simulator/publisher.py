"""A blocking MQTT publisher for simulated devices (paho-mqtt 2.x, callback API version 2).

Backpressure, not loss: `publish` blocks while `max_inflight` messages are unacknowledged, so
paho's 16-bit message ids can never wrap onto a message still in flight, and a slow broker slows
the simulator instead of growing an unbounded queue. paho's network thread reconnects with
back-off after a broker disconnect; unacknowledged QoS 1 messages are re-sent by paho after the
reconnect, and `publish` waits for the connection before handing a message to paho.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

MAX_MID = 65535


@dataclass(frozen=True, slots=True)
class PublisherStats:
    sent: int
    acked: int
    errors: int
    inflight: int
    reconnects: int


class PublishError(RuntimeError):
    """The broker could not be reached in time; `host`/`port` say which one."""

    def __init__(self, message: str, host: str, port: int) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class Publisher:
    """Publish `(topic, payload)` pairs with QoS 0 or 1 and a cap on unacknowledged messages."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        qos: int = 1,
        max_inflight: int = 100,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
    ) -> None:
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        if not 1 <= max_inflight <= MAX_MID:
            raise ValueError(f"max_inflight must be within 1..{MAX_MID}")
        self.host, self.port, self.qos = host, port, qos
        self.max_inflight = max_inflight
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._inflight: set[int] = set()
        self._early: set[int] = set()  # acks that arrived before publish() returned the mid
        self._sent = self._acked = self._errors = self._connects = 0
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    # paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if not reason.is_failure:
            with self._cond:
                self._connects += 1
            self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        self._connected.clear()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        with self._cond:
            if mid in self._inflight:
                self._inflight.discard(mid)
            else:
                self._early.add(mid)
            if reason.is_failure:
                self._errors += 1
            else:
                self._acked += 1
            self._cond.notify_all()

    # public API ----------------------------------------------------------------------------
    def connect(self) -> None:
        """Connect and start the network thread; raises `PublishError` if not up in time."""
        self._client.connect_async(self.host, self.port, self.keepalive)
        self._client.loop_start()
        if not self._connected.wait(self.connect_timeout):
            self._client.loop_stop()
            raise PublishError(
                f"no MQTT connection to {self.host}:{self.port} after {self.connect_timeout} s",
                self.host,
                self.port,
            )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish(self, topic: str, payload: bytes) -> bool:
        """Send one message, blocking while the in-flight cap is reached; False on an error."""
        with self._cond:
            while len(self._inflight) >= self.max_inflight:
                self._cond.wait(1.0)
        if not self._connected.wait(self.connect_timeout) and self.qos == 0:
            with self._cond:
                self._errors += 1
            return False
        # Not under our lock: paho may run on_publish (which takes it) under its own mutex.
        info = self._client.publish(topic, payload, qos=self.qos)
        ok = info.rc == mqtt.MQTT_ERR_SUCCESS or (info.rc == mqtt.MQTT_ERR_NO_CONN and self.qos > 0)
        with self._cond:
            if not ok:
                self._errors += 1
                return False
            self._sent += 1
            if info.mid in self._early:
                self._early.discard(info.mid)
            else:
                self._inflight.add(info.mid)
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every sent message is acknowledged; False if some are still in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    @property
    def stats(self) -> PublisherStats:
        with self._cond:
            return PublisherStats(
                self._sent,
                self._acked,
                self._errors,
                len(self._inflight),
                max(self._connects - 1, 0),
            )


def interrupt(publisher: Publisher, seconds: float) -> None:
    """Simulate a network outage: cut the TCP connection under paho and keep it down for about
    `seconds` (paho's reconnect back-off), then wait for the automatic reconnect."""
    client = publisher._client  # the fault is about this very connection
    sock = client.socket()
    if not isinstance(sock, socket.socket):
        return
    delay = max(1, math.ceil(seconds))
    client.reconnect_delay_set(delay, delay)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + 5.0
    while publisher._connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    publisher._connected.wait(delay + publisher.connect_timeout)
    client.reconnect_delay_set(1, 5)
