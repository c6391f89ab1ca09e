"""The MQTT link: the gateway's paho-mqtt client, run in a small process of its own.

Reading MQTT in Python costs tens of microseconds a message (packet parsing, callbacks, PUBACKs),
about as much as decoding, detecting and storing it. In one process both share one interpreter
lock, so the link runs as a child process (`python -m gateway.link.mqtt_link`) that imports nothing
but paho: network work on one core, the gateway's pipeline on another.

The link never decides what is stored and never acknowledges on its own. It forwards messages to
the gateway in batches and sends a PUBACK only when the gateway says the message is stored. If the
gateway dies, the link exits at once (end of its command pipe) without acknowledging anything
more; the broker redelivers the rest to the next session.

The messages on the two pipes are the named tuples of `gateway.link.messages` (the
`LinkConfig` first, then `Ack`, `Publish` and `Stop` from the gateway; `Connected`,
`Disconnected`, `Deliveries` and `Acknowledged` from the link). `Ack.released` counts messages
the gateway is done with, acknowledged or not: at most `window` messages are out with the gateway
at a time, and when the window is full the paho thread stops reading the socket (backpressure;
the broker keeps the rest).
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.link.messages import (
    Ack,
    Acknowledged,
    Connected,
    Delivered,
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

__all__ = ["LinkConfig", "MqttLink", "serve", "tls_context"]


def tls_context(cfg: LinkConfig) -> ssl.SSLContext:
    """TLS 1.2+ with the system CAs (or `tls_ca_file`), certificate and host name checked."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cfg.tls_ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cfg.tls_cert_file:
        ctx.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
    return ctx


class MqttLink:
    """The paho client and the link's rules; `send` carries messages to the gateway."""

    def __init__(self, cfg: LinkConfig, send: Callable[[LinkEvent], object]) -> None:
        self.cfg = cfg
        self._send = send
        self._send_lock = threading.Lock()
        self.conn = cfg.first_conn
        # Held while acknowledging and while the connection number changes: a PUBACK is queued
        # either before a disconnect (paho drops it with the old connection) or not at all.
        self._conn_lock = threading.Lock()
        self.taken = 0  # written by the paho thread only
        self.released = 0  # written by the command thread only
        self.acked = 0
        self.stopping = threading.Event()
        self._buf: deque[Delivered] = deque()
        # Publishes the gateway wants confirmed: packet id -> ref, and PUBACKs that arrived
        # before `publish` returned the packet id.
        self._refs: dict[int, int] = {}
        self._early: set[int] = set()
        self._refs_lock = threading.Lock()
        self._wake = threading.Event()
        self._room = threading.Condition()
        v5 = cfg.protocol == "5"
        self._v5 = v5
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        if cfg.username:
            self.client.username_pw_set(cfg.username, cfg.password)
        if cfg.uses_tls:
            self.client.tls_set_context(tls_context(cfg))
            self.client.tls_insecure_set(False)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message
        self.client.on_subscribe = self.on_subscribe
        self.client.on_publish = self.on_publish

    def send(self, event: LinkEvent) -> None:
        with self._send_lock:
            self._send(event)

    # -- paho thread ----------------------------------------------------------------------
    def on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        with self._conn_lock:
            self.conn += 1
        client.subscribe(self.cfg.subscription, qos=1)

    def on_subscribe(
        self, _client: mqtt.Client, _ud: Any, _mid: int, reasons: list[Any], _props: Any
    ) -> None:
        """Up means subscribed: new messages reach the gateway from now on."""
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("subscription to %s refused: %s", self.cfg.subscription, refused)
            return
        self.send(Connected(self.conn))

    def on_disconnect(
        self, _client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        with self._conn_lock:
            self.conn += 1  # nothing delivered on the lost connection may be acknowledged now
        self.send(Disconnected(self.conn, str(reason)))

    def on_publish(
        self, _client: mqtt.Client, _ud: Any, mid: int, _reason: Any, _props: Any
    ) -> None:
        with self._refs_lock:
            ref = self._refs.pop(mid, None)
            if ref is None:
                self._early.add(mid)
        if ref:
            self.send(Published([ref]))

    def publish(self, command: Publish) -> None:
        info = self.client.publish(command.topic, command.payload, qos=command.qos)
        if not command.ref:
            return
        if command.qos == 0:
            self.send(Published([command.ref]))
            return
        with self._refs_lock:
            acked = info.mid in self._early
            if acked:
                self._early.discard(info.mid)
            else:
                self._refs[info.mid] = command.ref
        if acked:
            self.send(Published([command.ref]))

    def on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload
        if type(payload) is not bytes:
            payload = bytes(payload)
        self._buf.append((msg.topic, payload, msg.mid, msg.qos, self.conn))
        self.taken += 1
        if not self._wake.is_set():
            self._wake.set()
        if self.taken - self.released >= self.cfg.window:
            with self._room:  # the gateway is full: stop reading the socket until it frees room
                while self.taken - self.released >= self.cfg.window:
                    if self.stopping.is_set():
                        return
                    self._room.wait(0.5)

    # -- forwarding thread ----------------------------------------------------------------
    def pump(self) -> None:
        """Forward what the paho thread took, in arrival order, a batch at a time."""
        buf = self._buf
        while not self.stopping.is_set():
            if not self._wake.wait(0.5):
                continue
            if self.cfg.linger_s > 0:
                time.sleep(self.cfg.linger_s)
            self._wake.clear()
            n = len(buf)
            if n:
                self.send(Deliveries.of([buf.popleft() for _ in range(n)]))

    # -- commands from the gateway --------------------------------------------------------
    def ack(self, command: Ack) -> None:
        ack = self.client.ack
        n = 0
        with self._conn_lock:
            conn = self.conn
            for mid, qos, c in command.items():
                if qos > 0 and c == conn:
                    ack(mid, qos)
                    n += 1
        self.acked += n
        with self._room:
            self.released += command.released
            self._room.notify_all()
        self.send(Acknowledged(n))

    def command(self, command: LinkCommand) -> bool:
        """Carry out one command; False on `Stop`."""
        if isinstance(command, Ack):
            self.ack(command)
        elif isinstance(command, Publish):
            self.publish(command)
        elif isinstance(command, Stop):
            return False
        else:
            log.error("unknown link command %r", command)
        return True

    def start(self) -> None:
        cfg = self.cfg
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 7 * 24 * 3600
            props.ReceiveMaximum = min(65535, max(cfg.window, 20))
        self.client.connect_async(
            cfg.host,
            cfg.port,
            cfg.keepalive,
            clean_start=False if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self.client.loop_start()
        threading.Thread(target=self.pump, name="mqtt-link-pump", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        with self._room:
            self._room.notify_all()
        self.client.disconnect()
        self.client.loop_stop()


def serve(inp: Connection, out: Connection) -> int:
    """The link process: first the `LinkConfig`, then commands until `Stop`."""
    cfg = inp.recv()
    if not isinstance(cfg, LinkConfig):
        raise SystemExit("mqtt link: expected the link configuration first")
    link = MqttLink(cfg, out.send)
    link.start()
    while True:
        try:
            command = inp.recv()
        except (EOFError, OSError):
            # The gateway is gone: acknowledge nothing more and leave the session to the broker.
            os._exit(0)
        if not link.command(command):
            break
    link.stop()
    return 0


def main() -> int:
    # Ctrl-C in a terminal reaches the whole process group; the gateway decides when its link
    # stops (a `stop` command, or the end of the pipe if the gateway itself is gone).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=os.environ.get("HMG_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s mqtt-link %(message)s",
        stream=sys.stderr,
    )
    inp = Connection(int(sys.argv[1]), writable=False)
    out = Connection(int(sys.argv[2]), readable=False)
    return serve(inp, out)


if __name__ == "__main__":
    raise SystemExit(main())
