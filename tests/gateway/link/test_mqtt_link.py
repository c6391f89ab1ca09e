"""The MQTT link's rules without a broker: acknowledgement by connection, backpressure, order."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from gateway.link.messages import (
    Ack,
    Acknowledged,
    Connected,
    Delivered,
    Deliveries,
    Disconnected,
    LinkConfig,
    LinkEvent,
    Publish,
    Published,
    Stop,
)
from gateway.link.mqtt_link import MqttLink, serve


def message(mid: int, topic: bytes = b"hm/v1/t/d/hr") -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(mid, topic)
    m.payload = b"{}"
    m.qos = 1
    return m


class Harness:
    """A link whose frames and PUBACKs are recorded instead of sent."""

    def __init__(self, **kw: Any) -> None:
        self.frames: list[LinkEvent] = []
        self.link = MqttLink(LinkConfig("127.0.0.1", 1, linger_s=0, **kw), self.frames.append)
        self.acks: list[int] = []
        self.link.client.ack = lambda mid, qos: self.acks.append(mid)  # type: ignore[method-assign,assignment,return-value]

    def deliver(self, *mids: int) -> None:
        for mid in mids:
            self.link.on_message(self.link.client, None, message(mid))

    def forwarded(self) -> list[Delivered]:
        return [w for f in self.frames if isinstance(f, Deliveries) for w in f.messages()]


def test_only_the_delivering_connection_acknowledges() -> None:
    h = Harness()
    h.link.conn = 1
    h.deliver(1, 2)
    h.link.on_disconnect(h.link.client, None, None, "lost", None)  # before the gateway stored
    h.link.ack(Ack.of([(1, 1, 1), (2, 1, 1)], released=2))
    assert h.acks == []  # the broker redelivers both on the next connection
    assert h.link.conn == 2
    h.deliver(1)
    h.link.ack(Ack.of([(1, 1, 2)], released=1))
    assert h.acks == [1]
    assert h.frames[-1] == Acknowledged(1)
    assert Disconnected(2, "lost") in h.frames


def test_forwarded_in_arrival_order_with_the_connection() -> None:
    h = Harness()
    h.link.conn = 3
    h.deliver(*range(1, 201))
    pump = threading.Thread(target=h.link.pump)
    pump.start()
    for _ in range(100):
        if len(h.forwarded()) == 200:
            break
        time.sleep(0.01)
    h.link.stopping.set()
    pump.join(2)
    got = h.forwarded()
    assert [w[2] for w in got] == list(range(1, 201))
    assert {(w[0], w[1], w[3], w[4]) for w in got} == {("hm/v1/t/d/hr", b"{}", 1, 3)}


def test_a_full_window_stops_the_network_thread_until_the_gateway_releases() -> None:
    h = Harness(window=2)
    h.deliver(1)
    blocked = threading.Thread(target=h.deliver, args=(2,))
    blocked.start()
    time.sleep(0.3)
    assert blocked.is_alive()  # paho stops reading the socket: the broker keeps the rest
    assert h.link.taken == 2
    h.link.ack(Ack.of([(1, 1, 0)], released=1))
    blocked.join(2)
    assert not blocked.is_alive()
    assert h.acks == [1]


def test_stop_frees_a_blocked_network_thread() -> None:
    h = Harness(window=1)
    blocked = threading.Thread(target=h.deliver, args=(1,))
    blocked.start()
    time.sleep(0.1)
    h.link.stopping.set()
    blocked.join(2)
    assert not blocked.is_alive()


def test_commands() -> None:
    h = Harness()
    published: list[tuple[str, bytes, int]] = []
    h.link.client.publish = lambda t, p, qos: published.append((t, p, qos))  # type: ignore[method-assign,assignment,misc]
    assert h.link.command(Publish("hm/alerts/v1/t/p", b"x", 1))
    assert published == [("hm/alerts/v1/t/p", b"x", 1)]
    assert h.link.command(("nonsense",))  # type: ignore[arg-type]
    assert not h.link.command(Stop())


def test_a_publish_with_a_ref_is_confirmed_once_the_broker_acknowledged_it() -> None:
    """The outbox's MQTT deliveries count only once the broker sent PUBACK, whichever of the
    PUBACK and the `publish` call returning comes first."""
    h = Harness()
    mids = iter([7, 8, 9])

    class Info:
        def __init__(self) -> None:
            self.mid = next(mids)

    h.link.client.publish = lambda t, p, qos: Info()  # type: ignore[method-assign,assignment,misc]
    h.link.command(Publish("hm/alerts/v1/t/p", b"x", 1, ref=41))
    assert [f for f in h.frames if isinstance(f, Published)] == []
    h.link.on_publish(h.link.client, None, 7, None, None)
    h.link.on_publish(h.link.client, None, 8, None, None)  # PUBACK before publish() returned
    h.link.command(Publish("hm/alerts/v1/t/p", b"y", 1, ref=42))
    h.link.command(Publish("hm/alerts/v1/t/p", b"z", 1))  # no ref: nothing to confirm
    h.link.on_publish(h.link.client, None, 9, None, None)
    assert [f for f in h.frames if isinstance(f, Published)] == [Published([41]), Published([42])]


def test_the_process_refuses_a_missing_configuration() -> None:
    class Pipe:
        def recv(self) -> object:
            return "not a configuration"

    with pytest.raises(SystemExit, match="configuration"):
        serve(Pipe(), Pipe())  # type: ignore[arg-type]


def test_up_once_subscribed() -> None:
    class Reason:
        def __init__(self, failure: bool) -> None:
            self.is_failure = failure

    h = Harness()
    subscribed: list[str] = []
    h.link.client.subscribe = lambda topic, qos: subscribed.append(topic)  # type: ignore[method-assign,assignment,misc]
    h.link.on_connect(h.link.client, None, None, Reason(False), None)
    assert subscribed == ["hm/v1/+/+/+"]
    assert h.frames == []  # connected is not yet ready: the subscription may still be refused
    h.link.on_subscribe(h.link.client, None, 1, [Reason(True)], None)
    assert h.frames == []
    h.link.on_subscribe(h.link.client, None, 2, [Reason(False)], None)
    assert h.frames == [Connected(1)]
