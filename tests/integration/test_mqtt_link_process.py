"""The MQTT link as a real child process against a real Mosquitto."""

from __future__ import annotations

import os
import signal
import time
from typing import TypeVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.link.ingest import LinkProcess
from gateway.link.messages import Ack, Acknowledged, Connected, Deliveries, LinkConfig, LinkEvent
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration]


E = TypeVar("E", bound=LinkEvent)


def frames_until(link: LinkProcess, kind: type[E], seconds: float = 10.0) -> E:
    seen: list[object] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if link.events.poll(0.1):
            event = link.events.recv()
            seen.append(event)
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__} from the link; got {seen}")


def test_forwards_acknowledges_on_command_and_outlives_ctrl_c(mosquitto: Mosquitto) -> None:
    link = LinkProcess(LinkConfig("127.0.0.1", mosquitto.port, client_id="link-test"))
    try:
        up = frames_until(link, Connected)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="link-test-pub")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        pub.publish("hm/v1/t/d-1/hr", b'{"x": 1}', qos=1).wait_for_publish(5)
        msgs = frames_until(link, Deliveries)
        ((topic, payload, mid, qos, conn),) = msgs.messages()
        assert (topic, payload, qos, conn) == ("hm/v1/t/d-1/hr", b'{"x": 1}', 1, up.conn)
        os.kill(link.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the gateway decides
        link.send(Ack.of([(mid, qos, conn)], 1))
        assert frames_until(link, Acknowledged) == Acknowledged(1)
        assert link.proc.poll() is None
        pub.loop_stop()
        pub.disconnect()
    finally:
        link.close()
    assert link.proc.returncode == 0


def test_exits_at_once_when_the_gateway_is_gone(mosquitto: Mosquitto) -> None:
    link = LinkProcess(LinkConfig("127.0.0.1", mosquitto.port, client_id="link-orphan"))
    frames_until(link, Connected)
    link.commands.close()  # what the link sees when the gateway process dies
    link.proc.wait(5)
    assert link.proc.returncode == 0
    link.events.close()
