"""The MQTT alert topic when scaled out: devices and alert subscribers use nats-server's MQTT
listener, so a worker publishes each alert notice on the NATS subject that listener maps to
`hm/alerts/v1/{tenant}/{patient_id}`.

The channel keeps the name `mqtt` and the payload of the single gateway's (`delivery_id`
included), so subscribers do not change. A delivery counts once nats-server has the message (a
flush after the publish); nats-server hands a message that did not come from an MQTT client to
the MQTT subscribers connected at that moment, at QoS 0. So a subscriber that is offline when
the alert goes out misses it (no persistent session queues it); the webhook and the API carry
every alert regardless.
"""

from __future__ import annotations

from gateway.notifiers.base import Notification, Receipt
from gateway.notifiers.mqtt import alert_topic
from gateway.scale.broadcast import NatsBroadcast
from gateway.scale.streams import nats_subject


class NatsAlertTopic(NatsBroadcast):
    """The `mqtt` broadcast channel of a scaled-out process (see module docstring)."""

    name = "mqtt"

    async def deliver(self, n: Notification) -> Receipt:
        a = n.payload["alert"]
        topic = alert_topic(a["tenant"], a["patient_id"])
        return await self.publish(nats_subject(topic), {**n.payload, "delivery_id": n.key}, topic)
