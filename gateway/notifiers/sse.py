"""Server-Sent Events for dashboards: a fan-out of alert events to subscribed queues.

An alert event's `id:` is its delivery id (the same on every channel and every resend, so a
client drops a duplicate); other frames (`assigned`) get `view-<n>`. A reconnecting client sends
`Last-Event-ID` and receives what came after that id from a bounded backlog (the whole backlog if
the id is no longer in it). Every event belongs to its alert's tenant, and a subscriber receives,
live or replayed, only its own tenant's events. A slow subscriber loses its oldest queued events
(the alerts themselves are in the database; the stream is a live view), never blocks the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime
from typing import Any

from alerts.model import Alert
from alerts.serialize import alert_to_json
from devices.timeparse import format_ts
from gateway.notifiers.base import Notification, Receipt

# (id, event type, JSON data, tenant)
_Item = tuple[str, str, str, str]


class SseChannel:
    name = "sse"
    personal = False
    slow = False

    def __init__(self, backlog: int = 500, queue_max: int = 1000) -> None:
        self._seq = 0
        self._backlog: deque[_Item] = deque(maxlen=backlog)
        self._subscribers: dict[asyncio.Queue[_Item], str] = {}
        self._queue_max = queue_max

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def deliver(self, n: Notification) -> Receipt:
        doc = {**n.payload, "delivery_id": n.key}
        data = json.dumps(doc, ensure_ascii=False)
        self._push(str(n.payload["event"]), data, str(n.payload["alert"]["tenant"]), n.key)
        return Receipt(self.name, f"{len(self._subscribers)} subscribers", ok=True)

    def show(
        self, kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
    ) -> None:
        """A change the open dashboards should see at once that is no lifecycle event and
        notifies nobody (e.g. `assigned`): sent as `event: <kind>` with the alert as it is now,
        in the shape of an alert event."""
        self.push_shown(show_doc(kind, at, alert, by, detail), alert.tenant)

    def push_shown(self, doc: Mapping[str, Any], tenant: str) -> None:
        """A `show_doc` made here or in another process (`gateway.scale.live`)."""
        self._push(str(doc["event"]), json.dumps(doc, ensure_ascii=False), tenant)

    def _push(self, event: str, data: str, tenant: str, event_id: str | None = None) -> None:
        self._seq += 1
        item = (event_id or f"view-{self._seq}", event, data, tenant)
        self._backlog.append(item)
        for q, of in list(self._subscribers.items()):
            if of != tenant:
                continue
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(item)

    def missed(self, tenant: str, last_event_id: str) -> list[_Item]:
        """The tenant's events after `last_event_id` (all the backlog holds of the tenant when
        that id is no longer in it)."""
        items = [item for item in self._backlog if item[3] == tenant]
        for k in range(len(items) - 1, -1, -1):
            if items[k][0] == last_event_id:
                return items[k + 1 :]
        return items

    async def stream(
        self, tenant: str, last_event_id: str | None = None, heartbeat_s: float = 15.0
    ) -> AsyncGenerator[str, None]:
        """The text/event-stream body of one tenant's events: missed events first, then live
        ones, with heartbeats."""
        q: asyncio.Queue[_Item] = asyncio.Queue(self._queue_max)
        self._subscribers[q] = tenant
        try:
            yield "retry: 3000\n\n"
            if last_event_id:
                for item in self.missed(tenant, last_event_id):
                    yield _frame(item)
            while True:
                try:
                    item = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield _frame(item)
        finally:
            self._subscribers.pop(q, None)


def show_doc(
    kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
) -> dict[str, Any]:
    """A bookkeeping change in the shape of an alert event document."""
    doc = {"event": kind, "at": format_ts(at), "alert": alert_to_json(alert), "by": by}
    return {**doc, "detail": dict(detail)}


def _frame(item: _Item) -> str:
    event_id, event, data, _tenant = item
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n"
