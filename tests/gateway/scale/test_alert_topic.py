"""The alert topic when scaled out, on a real nats-server: a notice a worker's outbox delivers
reaches an MQTT subscriber of `hm/alerts/v1/{tenant}/#` on nats-server's MQTT listener, with the
single gateway's payload and its delivery id; a closed connection raises (the outbox counts a
failed delivery and tries again), it is never reported delivered."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import nats
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.model import AlertEvent, EventType
from alerts.serialize import event_to_json
from gateway.notifiers import Notification, idempotency_key
from gateway.scale.alert_topic import NatsAlertTopic
from tests.support.api import crisis_alert
from tests.support.nats import nats_server

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def notice(alert_id: str, tenant: str, patient: str) -> Notification:
    event = AlertEvent(EventType.OPENED, T0, crisis_alert(alert_id, tenant, patient, T0))
    key = idempotency_key(event)
    return Notification(key, None, {**event_to_json(event), "delivery_id": key})


async def test_a_notice_reaches_the_mqtt_subscribers_of_its_alert_topic(tmp_path: Path) -> None:
    got: list[tuple[str, dict[str, object]]] = []
    with nats_server(tmp_path / "nats") as node:
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-sub")
        sub.on_message = lambda _c, _u, m: got.append((m.topic, json.loads(m.payload)))
        sub.connect("127.0.0.1", node.mqtt_port)
        sub.subscribe("hm/alerts/v1/t-east/#", qos=1)
        sub.loop_start()
        nc = await nats.connect(node.url)
        try:
            await asyncio.sleep(0.5)  # the subscription reaches the server
            channel = NatsAlertTopic(nc)
            east, west = notice("a-1", "t-east", "p-1"), notice("a-2", "t-west", "p-2")
            for n in (east, west):
                assert (await channel.deliver(n)).ok
            for _ in range(50):
                if got:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)  # the other tenant's would have come by now
            assert [(t, d["delivery_id"], d["event"]) for t, d in got] == [
                ("hm/alerts/v1/t-east/p-1", east.key, "opened"),
            ]
            assert got[0][1]["alert"] == east.payload["alert"]
            await nc.close()
            with pytest.raises(nats.errors.ConnectionClosedError):
                await channel.deliver(east)
        finally:
            sub.loop_stop()
            sub.disconnect()
            if not nc.is_closed:
                await nc.close()
