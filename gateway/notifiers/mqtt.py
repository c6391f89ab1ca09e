"""The MQTT alert topic of DESIGN.md: `hm/alerts/v1/{tenant}/{patient_id}`, QoS 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from gateway.notifiers.base import Notification, Receipt


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None: ...


def alert_topic(tenant: str, patient_id: str) -> str:
    return f"hm/alerts/v1/{tenant}/{patient_id}"


class MqttTopicChannel:
    name = "mqtt"
    personal = False
    slow = False

    def __init__(self, outbox: Callable[[], Publisher | None]) -> None:
        self._outbox = outbox

    async def deliver(self, n: Notification) -> Receipt:
        a = n.event.alert
        topic = alert_topic(a.tenant, a.patient_id)
        outbox = self._outbox()
        if outbox is None:
            return Receipt(self.name, topic, ok=False, error="no MQTT connection configured")
        outbox.publish(topic, json.dumps(dict(n.payload), ensure_ascii=False).encode(), 1)
        return Receipt(self.name, topic, ok=True)
