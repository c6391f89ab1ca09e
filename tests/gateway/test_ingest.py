"""MqttIngest without a broker: acknowledgement rules and backpressure."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt

from gateway.ingest import MqttIngest
from gateway.pipeline import BatchResult
from gateway.processor import Decoded, Inbound
from gateway.storage import StoreUnavailableError


def message(mid: int) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(mid, b"hm/v1/t/d/hr")
    m.payload = b"{}"
    m.qos = 1
    return m


class Recorder(MqttIngest):
    def __init__(self, **kw: int) -> None:
        super().__init__("127.0.0.1", 1, **kw)  # type: ignore[arg-type]
        self.acks: list[int] = []
        self.client.ack = lambda mid, qos: self.acks.append(mid)  # type: ignore[method-assign,assignment,return-value]


def test_only_the_delivering_connection_acknowledges() -> None:
    ing = Recorder()
    ing._conn = 1
    ing._on_message(ing.client, None, message(1))
    ing._on_message(ing.client, None, message(2))
    batch = ing._take_batch()
    ing._on_disconnect(ing.client, None, None, None, None)  # connection lost before the write
    ing.ack(batch)
    assert ing.acks == []  # the broker redelivers both on the next connection
    ing._on_message(ing.client, None, message(1))
    ing.ack(ing._take_batch())
    assert ing.acks == [1]


def test_full_queue_blocks_the_network_thread() -> None:
    ing = Recorder(queue_max=2)
    ing._on_message(ing.client, None, message(1))
    ing._on_message(ing.client, None, message(2))
    t = threading.Thread(target=ing._on_message, args=(ing.client, None, message(3)))
    t.start()
    time.sleep(0.3)
    assert t.is_alive()  # paho stops reading the socket: the broker keeps the rest
    assert ing.received == 3
    assert ing.queue.qsize() == 2
    ing.queue.get()
    t.join(2)
    assert not t.is_alive()
    ing._stopping.set()


class FlakyPipeline:
    """Fails the first `failures` commits; records what was committed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.committed: list[list[int]] = []

    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        return Decoded()

    async def commit(self, batch: Sequence[Inbound], decoded: Decoded) -> BatchResult:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("down")
        self.committed.append([m.mid for m in batch])
        return BatchResult(len(batch), len(batch), 0, 0, [])


async def test_acknowledged_in_order_and_only_after_the_write() -> None:
    ing = Recorder(batch_max=3)
    ing._conn = 0
    for mid in range(1, 8):
        ing._on_message(ing.client, None, message(mid))
    pipeline = FlakyPipeline(failures=2)
    stop = asyncio.Event()
    task = asyncio.create_task(ing.run(pipeline, stop))  # type: ignore[arg-type]
    for _ in range(100):
        if len(ing.acks) == 7:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert ing.acks == list(range(1, 8))
    assert [mid for b in pipeline.committed for mid in b] == list(range(1, 8))
    assert ing.acked == 7
