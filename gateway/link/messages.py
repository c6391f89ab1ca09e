"""What the gateway and its MQTT link process say to each other over their two pipes.

Each message is a small named tuple (pickled by `multiprocessing.connection`); this module
imports nothing but the standard library, so the link process stays small. A batch of delivered
messages travels column by column (`Deliveries`): lists of plain values pickle several times
faster than a list of per-message objects, and the link forwards tens of thousands a second.

link -> gateway: `Connected`, `Disconnected`, `Deliveries`, `Acknowledged`, `Published`.
gateway -> link: the `LinkConfig` first, then `Ack`, `Publish`, `Stop`.

``conn`` is the connection generation: a message is acknowledged only on the connection that
delivered it (after a reconnect the broker redelivers it, and a stale PUBACK could acknowledge a
different message that reuses the packet id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

# One message as the link's network thread takes it: topic, payload, packet id, QoS, connection.
Delivered = tuple[str, bytes, int, int, int]


@dataclass(frozen=True, slots=True)
class LinkConfig:
    host: str
    port: int
    client_id: str = "hmg-gateway"
    subscription: str = "hm/v1/+/+/+"
    username: str | None = None
    password: str | None = None
    protocol: str = "3.1.1"
    keepalive: int = 30
    window: int = 5000  # messages out with the gateway, not yet released
    # Connection generations start above this: each link the gateway starts gets its own range,
    # so an acknowledgement meant for a message of an earlier link never matches a later one.
    first_conn: int = 0
    linger_s: float = 0.001  # gather messages this long before forwarding a batch
    # TLS to the broker: on with `tls` or a CA file; the broker's certificate chain and host name
    # are always verified (a client certificate and key for mutual TLS are optional).
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.tls_ca_file is not None


# -- link -> gateway ------------------------------------------------------------------------
class Connected(NamedTuple):
    """Connected and subscribed on connection `conn`: new messages reach the gateway."""

    conn: int


class Disconnected(NamedTuple):
    """The connection is lost; `conn` is the generation from now on (nothing older is acked)."""

    conn: int
    reason: str


class Deliveries(NamedTuple):
    """Messages taken from the broker, in arrival order, one list per field."""

    topics: list[str]
    payloads: list[bytes]
    mids: list[int]
    qos: list[int]
    conns: list[int]

    @classmethod
    def of(cls, items: Sequence[Delivered]) -> Deliveries:
        if not items:
            return cls([], [], [], [], [])
        topics, payloads, mids, qos, conns = (list(col) for col in zip(*items, strict=True))
        return cls(topics, payloads, mids, qos, conns)

    def messages(self) -> Iterator[Delivered]:
        return zip(self.topics, self.payloads, self.mids, self.qos, self.conns, strict=True)


class Acknowledged(NamedTuple):
    """PUBACKs the link has just sent."""

    sent: int


class Published(NamedTuple):
    """The broker acknowledged these `Publish` commands (by their `ref`)."""

    refs: list[int]


# -- gateway -> link ------------------------------------------------------------------------
class Ack(NamedTuple):
    """Acknowledge these stored messages (packet id, QoS, connection, one list per field), and
    take `released` more: the gateway is done with that many, acknowledged or not."""

    mids: list[int]
    qos: list[int]
    conns: list[int]
    released: int

    @classmethod
    def of(cls, items: Iterable[tuple[int, int, int]], released: int) -> Ack:
        mids: list[int] = []
        qos: list[int] = []
        conns: list[int] = []
        for mid, q, conn in items:
            mids.append(mid)
            qos.append(q)
            conns.append(conn)
        return cls(mids, qos, conns, released)

    def items(self) -> Iterator[tuple[int, int, int]]:
        return zip(self.mids, self.qos, self.conns, strict=True)


class Publish(NamedTuple):
    """Publish on the broker; with a `ref`, the link reports `Published([ref])` once the broker
    has acknowledged the message (PUBACK), so the sender knows it was delivered."""

    topic: str
    payload: bytes
    qos: int
    ref: int = 0


class Stop(NamedTuple):
    """Disconnect and exit."""


LinkEvent = Connected | Disconnected | Deliveries | Acknowledged | Published
LinkCommand = Ack | Publish | Stop
