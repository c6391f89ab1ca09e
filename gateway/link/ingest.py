"""MQTT ingest, transport only: QoS 1, persistent session, PUBACK when the pipeline says so.

The paho-mqtt client runs in the MQTT link process (`gateway.link.mqtt_link`), which forwards
messages here in batches. A reader thread turns each batch into `Inbound` messages on a queue; the
pipeline (`gateway.flow.pipeline.Pipeline.run`, which owns the order of the stages) takes batches of
up to `batch_max`, stores each, and then has this ingest tell the link to send the PUBACKs, in
arrival order as MQTT requires.

Bounded in-flight work: the link stops reading the socket while `queue_max` messages are out with
the gateway (taken but not yet released), so the broker keeps the rest (backpressure, not loss).
If the link process dies, the gateway starts a new one; what it had delivered but not acknowledged
is redelivered by the broker (stored once: the store de-duplicates by device and sequence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from multiprocessing.connection import Connection

from devices.model import utcnow
from gateway.flow.intake import Inbound
from gateway.link.messages import (
    Ack,
    Acknowledged,
    Connected,
    Deliveries,
    Disconnected,
    LinkCommand,
    LinkConfig,
    LinkEvent,
    Publish,
    Published,
    Stop,
)

log = logging.getLogger(__name__)

# The link started n-th numbers its connections from n << LINK_EPOCH_SHIFT.
LINK_EPOCH_SHIFT = 32


class LinkProcess:
    """A running `python -m gateway.link.mqtt_link` and its two pipes."""

    def __init__(self, cfg: LinkConfig) -> None:
        to_link_r, to_link_w = os.pipe()
        from_link_r, from_link_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.link.mqtt_link", str(to_link_r), str(from_link_w)],
            pass_fds=(to_link_r, from_link_w),
        )
        os.close(to_link_r)
        os.close(from_link_w)
        self.commands = Connection(to_link_w, readable=False)
        self.events = Connection(from_link_r, writable=False)
        self._lock = threading.Lock()
        with self._lock:
            self.commands.send(cfg)

    def send(self, command: LinkCommand) -> None:
        with self._lock:
            self.commands.send(command)

    def close(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(OSError):
            self.send(Stop())
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.commands.close()
        self.events.close()


class MqttIngest:
    """Owns the MQTT link: the pipeline's `Source` of live messages and their acknowledgements."""

    def __init__(
        self,
        config: LinkConfig,
        *,
        batch_max: int,
        batch_linger_s: float,
        clock: Callable[[], datetime] = utcnow,
        link: Callable[[LinkConfig], LinkProcess] = LinkProcess,
    ) -> None:
        self.config = config
        self.batch_max = batch_max
        self.batch_linger_s = batch_linger_s
        self.clock = clock
        self._spawn = link
        self._link: LinkProcess | None = None
        self._epoch = 0  # links started so far; the running one owns this connection range
        self.queue: queue.Queue[list[Inbound]] = queue.Queue()
        self._carry: list[Inbound] = []
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self.received = 0  # messages taken from the link
        self.released = 0  # messages done with (acknowledged or left to redelivery)
        self.acked = 0  # PUBACKs the link has sent
        self._confirms: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = {}
        self._refs = 0

    @property
    def backlog(self) -> int:
        """Messages taken from the broker and not yet done with."""
        return self.received - self.released

    @property
    def link_pid(self) -> int | None:
        """Process id of the running MQTT link, if any."""
        return self._link.proc.pid if self._link is not None else None

    # -- link events (reader thread) ------------------------------------------------------
    def on_event(self, event: LinkEvent) -> None:
        if isinstance(event, Deliveries):
            at = self.clock()
            batch = [Inbound(t, p, at, mid, qos, c) for t, p, mid, qos, c in event.messages()]
            self.received += len(batch)
            self.queue.put(batch)
        elif isinstance(event, Acknowledged):
            self.acked += event.sent
        elif isinstance(event, Published):
            for ref in event.refs:
                waiting = self._confirms.pop(ref, None)
                if waiting is not None:
                    loop, fut = waiting
                    loop.call_soon_threadsafe(_resolve, fut)
        elif isinstance(event, Connected):
            self.connected.set()
            log.info(
                "MQTT connected to %s:%s, subscribed to %s",
                self.config.host,
                self.config.port,
                self.config.subscription,
            )
        elif isinstance(event, Disconnected):
            self.connected.clear()
            if not self._stopping.is_set():
                log.warning("MQTT disconnected (%s); the link reconnects", event.reason)

    def _read(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            link = self._link
            if link is None:
                return
            try:
                event = link.events.recv()
            except (EOFError, OSError):
                if self._stopping.is_set():
                    return
                self.connected.clear()
                link.close(timeout=2.0)  # reap it (stopping it first if it only closed its pipe)
                log.error("MQTT link exited (%s); starting a new one", link.proc.returncode)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                self._link = self._start_link()
                continue
            self.on_event(event)

    # -- lifecycle ------------------------------------------------------------------------
    def _start_link(self) -> LinkProcess:
        self._epoch += 1
        return self._spawn(replace(self.config, first_conn=self._epoch << LINK_EPOCH_SHIFT))

    def start(self) -> None:
        self._link = self._start_link()
        self._reader = threading.Thread(target=self._read, name="mqtt-link-reader", daemon=True)
        self._reader.start()

    def stop(self) -> None:
        self._stopping.set()
        link, self._link = self._link, None
        if link is not None:
            link.close()
        if self._reader is not None:
            self._reader.join(5)
        self.connected.clear()

    async def wait_connected(self, seconds: float = 10.0) -> bool:
        return await asyncio.to_thread(self.connected.wait, seconds)

    # -- asyncio side ---------------------------------------------------------------------
    def take_batch(self) -> list[Inbound]:
        """Block briefly for a first message, then gather what arrives within the linger."""
        batch, self._carry = self._carry, []
        if not batch:
            try:
                batch = self.queue.get(timeout=0.2)
            except queue.Empty:
                return []
        deadline = time.monotonic() + self.batch_linger_s
        while len(batch) < self.batch_max:
            try:
                batch.extend(self.queue.get_nowait())
                continue
            except queue.Empty:
                pass
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            try:
                batch.extend(self.queue.get(timeout=wait))
            except queue.Empty:
                break
        if len(batch) > self.batch_max:
            batch, self._carry = batch[: self.batch_max], batch[self.batch_max :]
        return batch

    def ack(self, batch: list[Inbound]) -> None:
        """PUBACK a stored batch, in arrival order (the link skips what a lost connection
        delivered: the broker redelivers those)."""
        self._release(batch, ack=True)

    def release(self, batch: list[Inbound]) -> None:
        """Done with a batch without acknowledging it: the broker redelivers it."""
        self._release(batch, ack=False)

    def _release(self, batch: list[Inbound], *, ack: bool) -> None:
        """Tell the link which messages to acknowledge and how many it may take anew. Messages
        an earlier link delivered are neither: the broker redelivers them to the running one."""
        self.released += len(batch)
        link = self._link
        if link is None:
            return
        epoch = self._epoch
        mine = [m for m in batch if m.conn >> LINK_EPOCH_SHIFT == epoch]
        items = [(m.mid, m.qos, m.conn) for m in mine if m.qos > 0] if ack else []
        try:
            link.send(Ack.of(items, len(mine)))
        except OSError as exc:  # the link died: its session's messages come again
            log.warning("MQTT link gone before the acknowledgement: %s", exc)

    async def publish_confirmed(self, topic: str, payload: bytes, wait_s: float) -> bool:
        """Publish with QoS 1 and wait for the broker's PUBACK (False: none within `wait_s`,
        e.g. the link or the broker is down; the caller tries again later)."""
        link = self._link
        if link is None:
            return False
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._refs += 1
        ref = self._refs
        self._confirms[ref] = (loop, fut)
        try:
            link.send(Publish(topic, payload, 1, ref))
            return await asyncio.wait_for(fut, wait_s)
        except (OSError, TimeoutError):
            return False
        finally:
            self._confirms.pop(ref, None)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        link = self._link
        if link is None:
            log.warning("MQTT link down; not published to %s", topic)
            return
        try:
            link.send(Publish(topic, payload, qos))
        except OSError as exc:
            log.warning("MQTT link gone; not published to %s: %s", topic, exc)


def _resolve(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(True)
