"""The open dashboards' live view across processes: alert events and bookkeeping changes made
on a worker reach the SSE stream of every API process, over NATS subject `hmg.live`.

Scaled out, alerts are raised and acted on by the worker that owns the patient's partition,
while clinicians' browsers hold their event stream open on an API process. So the worker's
outbox delivers the `sse` notice by publishing it on `hmg.live` (`LiveRelay`, a broadcast
channel: delivered once the server has it, so the outbox's at-least-once and delivery ids hold as
for the single gateway), and every API process relays what arrives there into its own
`SseChannel` (`relay_live`), which keeps the per-tenant filtering and the `Last-Event-ID`
backlog. Bookkeeping changes that notify nobody (an assignment) travel the same way
(`LiveShow`), so every API process shows them, including the one that took the request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from alerts.model import Alert
from gateway.notifiers.base import Notification, Receipt
from gateway.notifiers.sse import SseChannel, show_doc
from gateway.scale.broadcast import NatsBroadcast

log = logging.getLogger(__name__)

LIVE_SUBJECT = "hmg.live"


class LiveRelay(NatsBroadcast):
    """The `sse` channel of a process without browsers: the notice goes to `hmg.live`."""

    name = "sse"

    async def deliver(self, n: Notification) -> Receipt:
        body = {"kind": "event", "key": n.key, "doc": dict(n.payload)}
        return await self.publish(LIVE_SUBJECT, body, LIVE_SUBJECT)


class LiveShow:
    """The API process's live view of bookkeeping changes: published to every API process."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self._tasks: set[asyncio.Task[None]] = set()

    def show(
        self, kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
    ) -> None:
        doc = show_doc(kind, at, alert, by, detail)
        body = {"kind": "show", "tenant": alert.tenant, "doc": doc}
        data = json.dumps(body, ensure_ascii=False).encode()
        task = asyncio.get_running_loop().create_task(self.nc.publish(LIVE_SUBJECT, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def relay_live(nc: NatsClient, sse: SseChannel) -> Subscription:
    """Every frame published on `hmg.live` into this process's SSE stream."""

    async def on_msg(msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
            doc = body["doc"]
            if body["kind"] == "event":
                await sse.deliver(Notification(str(body["key"]), None, doc))
            elif body["kind"] == "show":
                sse.push_shown(doc, str(body["tenant"]))
        except (ValueError, KeyError, TypeError):
            log.warning("a live frame that is not one: %r", msg.data[:200])

    return await nc.subscribe(LIVE_SUBJECT, cb=on_msg)
