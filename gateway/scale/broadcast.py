"""A broadcast channel over NATS, as the scaled-out processes send the `sse` notice and the
MQTT alert topic: a delivery counts once nats-server has the message (a flush after the
publish), so the outbox's at-least-once and delivery ids hold as for the single gateway."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nats.aio.client import Client as NatsClient

from gateway.notifiers.base import Receipt


class NatsBroadcast:
    """The shared part of a broadcast channel publishing on NATS; a subclass names the channel
    and says what each notice publishes where (its `deliver`)."""

    name: str
    personal = False
    slow = False

    def __init__(self, nc: NatsClient, flush_s: int = 5) -> None:
        self.nc = nc
        self.flush_s = flush_s

    async def publish(self, subject: str, body: Mapping[str, Any], target: str) -> Receipt:
        """`body` as JSON on `subject`, delivered once the server has it (a receipt for
        `target`); raises if the server did not take it."""
        await self.nc.publish(subject, json.dumps(body, ensure_ascii=False).encode())
        await self.nc.flush(self.flush_s)
        return Receipt(self.name, target, ok=True)
