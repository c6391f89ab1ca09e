"""MqttIngest without a broker or a link process: batching, and the pipeline's stage order over
it (acknowledgement after the write)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from alerts.desk import AlertDesk
from alerts.engine import DetectionEngine
from devices.model import Reading
from devices.registry import DeviceRegistry
from gateway.flow.intake import Decoded, Inbound, Intake
from gateway.flow.pipeline import Pipeline
from gateway.flow.ports import BatchResult
from gateway.link.ingest import LINK_EPOCH_SHIFT, MqttIngest
from gateway.link.messages import (
    Ack,
    Acknowledged,
    Connected,
    Deliveries,
    Disconnected,
    LinkConfig,
    Publish,
)
from gateway.storage import StoreUnavailableError


class FakeLink:
    """Stands in for the link process: records the commands it is sent."""

    def __init__(self, _cfg: LinkConfig) -> None:
        self.sent: list[Any] = []

    def send(self, frame: object) -> None:
        self.sent.append(frame)

    def acks(self) -> list[int]:
        return [mid for f in self.sent if isinstance(f, Ack) for mid in f.mids]


def ingest(batch_max: int = 500, batch_linger_s: float = 0.02) -> tuple[MqttIngest, FakeLink]:
    config = LinkConfig("127.0.0.1", 1)
    ing = MqttIngest(config, batch_max=batch_max, batch_linger_s=batch_linger_s, link=FakeLink)  # type: ignore[arg-type]
    link = FakeLink(ing.config)
    ing._link = link  # type: ignore[assignment]
    return ing, link


def deliver(ing: MqttIngest, mids: Sequence[int], conn: int = 1) -> None:
    ing.on_event(Deliveries.of([("hm/v1/t/d/hr", b"{}", mid, 1, conn) for mid in mids]))


class FlakyPipeline(Pipeline):
    """The real stage order (`Pipeline.run`) over stages that fail the first `failures` stores
    and record what went through detection."""

    def __init__(self, failures: int) -> None:
        super().__init__(Intake(DeviceRegistry()), DetectionEngine(), AlertDesk())
        self.failures = failures
        self.committed: list[list[int]] = []

    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        return Decoded()

    async def store(self, decoded: Decoded) -> list[Reading]:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("down")
        return []

    async def finish(
        self, batch: Sequence[Inbound], decoded: Decoded, new: list[Reading], t0: float
    ) -> BatchResult:
        self.committed.append([m.mid for m in batch])
        return BatchResult(len(batch), len(batch), 0, 0, [])


def test_link_events_set_the_connection_state_and_counters() -> None:
    ing, _ = ingest()
    ing.on_event(Connected(1))
    assert ing.connected.is_set()
    deliver(ing, [1, 2, 3])
    assert ing.received == 3
    assert ing.backlog == 3
    ing.on_event(Acknowledged(2))
    assert ing.acked == 2
    ing.on_event(Disconnected(2, "lost"))
    assert not ing.connected.is_set()


def test_batches_are_cut_at_batch_max_and_keep_their_order() -> None:
    ing, _ = ingest(batch_max=4, batch_linger_s=0.0)
    deliver(ing, [1, 2, 3])
    deliver(ing, [4, 5, 6])
    assert [m.mid for m in ing.take_batch()] == [1, 2, 3, 4]
    assert [m.mid for m in ing.take_batch()] == [5, 6]
    assert ing.take_batch() == []


async def test_acknowledged_in_order_and_only_after_the_write() -> None:
    ing, link = ingest(batch_max=3)
    deliver(ing, range(1, 8))
    pipeline = FlakyPipeline(failures=2)
    stop = asyncio.Event()
    task = asyncio.create_task(pipeline.run(ing, stop))
    for _ in range(100):
        if len(link.acks()) == 7:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert link.acks() == list(range(1, 8))
    assert [mid for b in pipeline.committed for mid in b] == list(range(1, 8))
    assert ing.backlog == 0
    assert pipeline.processed == 7  # every batch also went through detection, after its store
    # Each acknowledgement also releases its messages from the link's window.
    assert sum(f.released for f in link.sent if isinstance(f, Ack)) == 7


async def test_stopping_during_an_outage_releases_without_acknowledging() -> None:
    ing, link = ingest()
    deliver(ing, [1, 2])
    stop = asyncio.Event()
    stop.set()
    batch = ing.take_batch()
    result = await FlakyPipeline(failures=1)._store_until_stored(ing, batch, Decoded(), stop)
    assert result is None
    assert link.acks() == []
    assert link.sent == [Ack([], [], [], 2)]
    assert ing.backlog == 0


def test_publish_goes_through_the_link() -> None:
    ing, link = ingest()
    ing.publish("hm/v1/t/deadletter", b"{}", 1)
    assert link.sent == [Publish("hm/v1/t/deadletter", b"{}", 1)]
    ing._link = None
    ing.publish("hm/v1/t/deadletter", b"{}", 1)  # link down: logged, not raised


def test_messages_of_an_earlier_link_are_left_to_redelivery() -> None:
    ing, link = ingest()
    ing._epoch = 2  # the link was restarted once: connections of link 1 are gone
    old, current = (1 << LINK_EPOCH_SHIFT) + 1, (2 << LINK_EPOCH_SHIFT) + 1
    deliver(ing, [7], conn=old)
    deliver(ing, [7, 8], conn=current)  # the broker reuses packet id 7 on the new connection
    ing.ack(ing.take_batch())
    # Only the new link's messages are acknowledged and free room in its window; acknowledging
    # the old 7 on the new connection would acknowledge a different message.
    assert link.sent == [Ack([7, 8], [1, 1], [current, current], 2)]
    assert ing.backlog == 0
    assert ing.config.first_conn == 0
    spawned: list[LinkConfig] = []
    ing._spawn = spawned.append  # type: ignore[assignment]
    ing._start_link()
    assert spawned[0].first_conn == 3 << LINK_EPOCH_SHIFT
