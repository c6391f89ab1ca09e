"""MQTT ingest with paho-mqtt 2.x: QoS 1, persistent session, acknowledgement after the write.

The paho network thread hands each message to a bounded queue; when the queue is full the
callback blocks, paho stops reading the socket, and the broker keeps the rest (backpressure, not
loss). The asyncio side drains the queue in batches, has the pipeline store each batch, and only
then sends the PUBACKs, in arrival order as MQTT requires.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.model import utcnow
from gateway import metrics
from gateway.pipeline import BatchResult, Pipeline
from gateway.processor import Decoded, Inbound
from gateway.storage import StoreUnavailableError

log = logging.getLogger(__name__)


class MqttIngest:
    """Owns the paho client; `run` drains messages into the pipeline until `stop`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "hmg-gateway",
        subscription: str = "hm/v1/+/+/+",
        username: str | None = None,
        password: str | None = None,
        protocol: str = "3.1.1",
        keepalive: int = 30,
        queue_max: int = 5000,
        batch_max: int = 500,
        batch_linger_s: float = 0.02,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self.subscription = subscription
        self.batch_max = batch_max
        self.batch_linger_s = batch_linger_s
        self.clock = clock
        self.queue: queue.Queue[Inbound] = queue.Queue(maxsize=queue_max)
        self.connected = threading.Event()
        self._stopping = threading.Event()
        # Connection generation: a message may only be acknowledged on the connection that
        # delivered it. After a reconnect the broker redelivers everything unacknowledged, and a
        # stale PUBACK could otherwise acknowledge a *different* message that reuses the packet id.
        self._conn = 0
        self.received = 0  # messages taken from the socket (handed to the queue)
        self.acked = 0  # PUBACKs sent
        v5 = protocol == "5"
        self._v5 = v5
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- paho thread ----------------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        self._conn += 1
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info(
            "MQTT connected to %s:%s, subscribed to %s", self.host, self.port, self.subscription
        )

    def _on_disconnect(
        self, _client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected.clear()
        self._conn += 1  # nothing delivered on the lost connection may be acknowledged now
        if not self._stopping.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload
        if type(payload) is not bytes:
            payload = bytes(payload)
        item = Inbound(msg.topic, payload, self.clock(), msg.mid, msg.qos, self._conn)
        self.received += 1
        while not self._stopping.is_set():
            try:
                self.queue.put(item, timeout=0.5)  # blocks while the pipeline is full
                return
            except queue.Full:
                continue

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 7 * 24 * 3600
            props.ReceiveMaximum = min(65535, max(self.batch_max * 2, 20))
        self.client.connect_async(
            self.host,
            self.port,
            self.keepalive,
            clean_start=False if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    async def wait_connected(self, seconds: float = 10.0) -> bool:
        return await asyncio.to_thread(self.connected.wait, seconds)

    # -- asyncio side ---------------------------------------------------------------------
    def _take_batch(self) -> list[Inbound]:
        """Block briefly for a first message, then gather what arrives within the linger."""
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = None
        while len(batch) < self.batch_max:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except queue.Empty:
                pass
            if self.batch_linger_s <= 0:
                break
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.batch_linger_s
            if now >= deadline:
                break
            try:
                batch.append(self.queue.get(timeout=deadline - now))
            except queue.Empty:
                break
        return batch

    async def run(self, pipeline: Pipeline, stop: asyncio.Event) -> None:
        """Two-stage loop: while batch N is being written (and then acknowledged), batch N+1 is
        taken from the queue and decoded. Commits stay strictly sequential, so PUBACKs go out in
        arrival order; at most two batches plus the queue are in flight (bounded)."""
        pending: asyncio.Task[BatchResult | None] | None = None
        try:
            while not stop.is_set():
                batch = await asyncio.to_thread(self._take_batch)
                metrics.QUEUE_DEPTH.set(self.queue.qsize())
                decoded = pipeline.decode(batch) if batch else None
                if pending is not None:
                    await pending
                    pending = None
                if batch and decoded is not None:
                    pending = asyncio.create_task(
                        self._process_until_stored(pipeline, batch, stop, decoded)
                    )
        finally:
            if pending is not None:
                await pending

    async def _process_until_stored(
        self,
        pipeline: Pipeline,
        batch: list[Inbound],
        stop: asyncio.Event,
        decoded: Decoded | None = None,
    ) -> BatchResult | None:
        """Retry the durable write until it succeeds; acknowledge only then. On stop, give up
        without acknowledging: the broker redelivers the batch to the next session."""
        delay = 0.2
        if decoded is None:
            decoded = pipeline.decode(batch)
        while True:
            try:
                result = await pipeline.commit(batch, decoded)
            except StoreUnavailableError as exc:
                log.warning(
                    "store unavailable, %d messages held unacknowledged: %s", len(batch), exc
                )
                if stop.is_set():
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.ack(batch)
            return result

    def ack(self, batch: list[Inbound]) -> None:
        """PUBACK a stored batch, in arrival order; skip what a lost connection delivered."""
        conn = self._conn
        ack = self.client.ack
        n = 0
        for m in batch:
            if m.qos > 0 and m.conn == conn:
                ack(m.mid, m.qos)
                n += 1
        self.acked += n

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos)
