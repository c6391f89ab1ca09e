"""The MQTT alert topic of DESIGN.md: `hm/alerts/v1/{tenant}/{patient_id}`, QoS 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from gateway.notifiers.base import Notification, Receipt


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None: ...


@runtime_checkable
class ConfirmingPublisher(Publisher, Protocol):
    """A publisher that can tell when the broker has the message (its PUBACK)."""

    async def publish_confirmed(self, topic: str, payload: bytes, wait_s: float) -> bool: ...


def alert_topic(tenant: str, patient_id: str) -> str:
    return f"hm/alerts/v1/{tenant}/{patient_id}"


class MqttTopicChannel:
    """QoS 1 on the patient's alert topic; the payload carries `delivery_id`. With a confirming
    publisher (the gateway's MQTT link) a delivery counts only once the broker acknowledged it."""

    name = "mqtt"
    personal = False
    slow = False

    def __init__(
        self, outbox: Callable[[], Publisher | None], confirm_timeout_s: float = 10.0
    ) -> None:
        self._outbox = outbox
        self.confirm_timeout_s = confirm_timeout_s

    async def deliver(self, n: Notification) -> Receipt:
        a = n.payload["alert"]
        topic = alert_topic(a["tenant"], a["patient_id"])
        outbox = self._outbox()
        if outbox is None:
            return Receipt(self.name, topic, ok=False, error="no MQTT connection configured")
        body = json.dumps({**n.payload, "delivery_id": n.key}, ensure_ascii=False).encode()
        if isinstance(outbox, ConfirmingPublisher):
            if not await outbox.publish_confirmed(topic, body, self.confirm_timeout_s):
                return Receipt(self.name, topic, ok=False, error="no PUBACK from the broker")
            return Receipt(self.name, topic, ok=True)
        outbox.publish(topic, body, 1)
        return Receipt(self.name, topic, ok=True)
