"""The live view across processes, on a real nats-server: an alert event a worker's outbox
delivers, and an assignment shown by one API process, reach the SSE stream of every API
process, each tenant's only to that tenant, with the event's delivery id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path

import nats

from alerts.model import AlertEvent, EventType
from alerts.serialize import event_to_json
from gateway.notifiers import Notification, SseChannel, idempotency_key
from gateway.scale.live import LiveRelay, LiveShow, relay_live
from tests.support.api import crisis_alert
from tests.support.nats import nats_server

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def next_frame(stream: AsyncGenerator[str, None]) -> dict[str, str]:
    """The next frame other than the retry line and heartbeats, as its fields."""
    while True:
        text = await asyncio.wait_for(anext(stream), 5)
        if text.startswith("id:"):
            return dict(line.split(": ", 1) for line in text.strip().split("\n"))


async def test_worker_events_and_shown_changes_reach_every_api_process(tmp_path: Path) -> None:
    with nats_server(tmp_path / "nats") as node:
        worker_nc = await nats.connect(node.url)
        api_ncs = [await nats.connect(node.url) for _ in range(2)]
        try:
            views = [SseChannel(), SseChannel()]
            for nc, sse in zip(api_ncs, views, strict=True):
                await relay_live(nc, sse)
            streams = [sse.stream("t-east", heartbeat_s=0.2) for sse in views]
            west = views[1].stream("t-west", heartbeat_s=0.2)
            for s in (*streams, west):
                assert (await anext(s)).startswith("retry:")
            await asyncio.sleep(0.1)  # the subscriptions reach the server
            alert = crisis_alert("a-1", "t-east", "p-1", T0)
            event = AlertEvent(EventType.OPENED, T0, alert)
            key = idempotency_key(event)
            receipt = await LiveRelay(worker_nc).deliver(
                Notification(key, None, {**event_to_json(event), "delivery_id": key})
            )
            assert receipt.ok
            for s in streams:
                frame = await next_frame(s)
                assert (frame["id"], frame["event"]) == (key, "opened")
                assert json.loads(frame["data"])["alert"]["alert_id"] == "a-1"
            LiveShow(api_ncs[0]).show("assigned", T0, alert, "dr.li", {"assignee": "dr.li"})
            for s in streams:
                frame = await next_frame(s)
                assert frame["event"] == "assigned"
                assert json.loads(frame["data"])["detail"] == {"assignee": "dr.li"}
            # The other tenant heard nothing but heartbeats.
            for _ in range(3):
                assert (await asyncio.wait_for(anext(west), 5)).startswith(":")
        finally:
            for nc in (worker_nc, *api_ncs):
                await nc.close()
