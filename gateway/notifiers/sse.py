"""Server-Sent Events for dashboards: a fan-out of alert events to subscribed queues.

Each event gets an increasing id; a reconnecting client sends `Last-Event-ID` and receives the
events it missed from a bounded backlog. A slow subscriber loses its oldest queued events (the
alerts themselves are in the database; the stream is a live view), never blocks the gateway.
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


class SseChannel:
    name = "sse"
    personal = False
    slow = False

    def __init__(self, backlog: int = 500, queue_max: int = 1000) -> None:
        self._seq = 0
        self._backlog: deque[tuple[int, str, str]] = deque(maxlen=backlog)
        self._subscribers: set[asyncio.Queue[tuple[int, str, str]]] = set()
        self._queue_max = queue_max

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def deliver(self, n: Notification) -> Receipt:
        self._push(n.event.event.value, json.dumps(dict(n.payload), ensure_ascii=False))
        return Receipt(self.name, f"{len(self._subscribers)} subscribers", ok=True)

    def show(
        self, kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
    ) -> None:
        """A change the open dashboards should see at once that is no lifecycle event and
        notifies nobody (e.g. `assigned`): sent as `event: <kind>` with the alert as it is now,
        in the shape of an alert event."""
        doc = {"event": kind, "at": format_ts(at), "alert": alert_to_json(alert), "by": by}
        self._push(kind, json.dumps({**doc, "detail": dict(detail)}, ensure_ascii=False))

    def _push(self, event: str, data: str) -> None:
        self._seq += 1
        item = (self._seq, event, data)
        self._backlog.append(item)
        for q in list(self._subscribers):
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(item)

    async def stream(
        self, last_event_id: int | None = None, heartbeat_s: float = 15.0
    ) -> AsyncGenerator[str, None]:
        """The text/event-stream body: missed events first, then live ones, with heartbeats."""
        q: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue(self._queue_max)
        self._subscribers.add(q)
        try:
            yield "retry: 3000\n\n"
            if last_event_id is not None:
                for item in list(self._backlog):
                    if item[0] > last_event_id:
                        yield _frame(item)
            while True:
                try:
                    item = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield _frame(item)
        finally:
            self._subscribers.discard(q)


def _frame(item: tuple[int, str, str]) -> str:
    seq, event, data = item
    return f"id: {seq}\nevent: {event}\ndata: {data}\n\n"
