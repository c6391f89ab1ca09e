"""The live pipeline: decode -> durable write -> (caller acks) -> detect -> lifecycle -> notify.

`store` returns only after every reading and dead letter of the batch is durably stored; if the
store fails it raises `StoreUnavailableError` and nothing of the batch may be acknowledged.
`finish` then runs detection and alerting; `commit` (and `handle`, which decodes too) do both.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alerts.model import AlertEvent
from alerts.serialize import event_to_json
from devices.model import Reading, deadletter_topic, utcnow
from gateway import metrics
from gateway.processor import Decoded, Inbound, Processor, Rejected
from gateway.storage import DeadLetter, ReadingStore, Stores, StoreUnavailableError

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """Where the gateway publishes (the MQTT client in production)."""

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None: ...


class AlertSink(Protocol):
    """A notification channel; failures are its own business and never block ingest."""

    async def send(self, events: Sequence[AlertEvent]) -> None: ...


def alert_topic(tenant: str, patient_id: str) -> str:
    return f"hm/alerts/v1/{tenant}/{patient_id}"


def deadletter_message(d: Rejected) -> bytes:
    try:
        original: object = json.loads(d.payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        original = d.payload.decode("utf-8", errors="replace")
    return json.dumps(
        {
            "topic": d.topic,
            "reason": d.reason.value,
            "detail": d.detail,
            "received_at": d.received_at.isoformat(),
            "payload": original,
        }
    ).encode()


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    stored: int
    duplicates: int
    rejected: int
    events: list[AlertEvent]


class Pipeline:
    def __init__(
        self,
        processor: Processor,
        readings: ReadingStore,
        stores: Stores,
        *,
        outbox: Outbox | None = None,
        sinks: Sequence[AlertSink] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.processor = processor
        self.readings = readings
        self.stores = stores
        self.outbox = outbox
        self.sinks = list(sinks)
        self.clock = clock

    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        """Decode and resolve once; `commit` may then be retried until the store takes it."""
        return self.processor.decode(batch)

    async def handle(self, batch: Sequence[Inbound]) -> BatchResult:
        return await self.commit(batch, self.decode(batch))

    async def commit(self, batch: Sequence[Inbound], decoded: Decoded) -> BatchResult:
        """Store durably (raising StoreUnavailableError if not), then detect, persist and notify."""
        t0 = time.perf_counter()
        new = await self.store(decoded)
        return await self.finish(batch, decoded, new, t0)

    async def store(self, decoded: Decoded) -> list[Reading]:
        """The durable part: new devices, dead letters and readings (the new ones are returned).
        Raises StoreUnavailableError on any storage failure; may be retried with the same
        `decoded`."""
        try:
            for dev in decoded.new_devices:
                await self.stores.patients.save_device(dev, self.clock())
            # Rejected payloads are kept for inspection; readings are stored once.
            await self.stores.deadletters.save(
                [
                    DeadLetter(
                        d.tenant, d.topic, d.reason.value, d.detail, d.payload, d.received_at
                    )
                    for d in decoded.rejected
                ]
            )
            new = await self.readings.write(decoded.readings)
        except Exception as exc:
            metrics.STORE_FAILURES.inc()
            if isinstance(exc, StoreUnavailableError):
                raise
            raise StoreUnavailableError(str(exc)) from exc
        decoded.new_devices.clear()
        return new

    async def finish(
        self, batch: Sequence[Inbound], decoded: Decoded, new: list[Reading], t0: float
    ) -> BatchResult:
        """After the store (and the acknowledgement): detection, alerts, dead-letter topic,
        metrics. `t0` is when the batch's store began (for the batch duration metric)."""
        events = await self._after_store(new)
        self._count(batch, decoded.readings, new, decoded.rejected, events)
        self._publish(decoded.rejected, [])
        metrics.BATCH_SECONDS.observe(time.perf_counter() - t0)
        return BatchResult(
            len(batch), len(new), len(decoded.readings) - len(new), len(decoded.rejected), events
        )

    async def _after_store(self, new: Sequence[Reading]) -> list[AlertEvent]:
        """Detection and alerting; a failure here is logged, the readings stay stored."""
        try:
            events = self.processor.detect(new, self.clock())
            await self.stores.alerts.save_events(events, client="gateway")
        except Exception:
            log.exception("alert processing failed for %d readings", len(new))
            return []
        await self.notify(events)
        return events

    async def tick(self) -> list[AlertEvent]:
        events = self.processor.tick(self.clock())
        await self.stores.alerts.save_events(events, client="scheduler")
        await self.notify(events)
        return events

    async def notify(self, events: Sequence[AlertEvent]) -> None:
        """Every alert event goes out here. With no sinks (bare pipelines in tests) the events
        go to the outbox's alert topic directly; the gateway's dispatcher has an MQTT channel."""
        if not events:
            return
        if not self.sinks:
            self._publish([], events)
        for sink in self.sinks:
            try:
                await sink.send(events)
            except Exception:  # a channel failure must never stop ingest
                log.exception("alert sink %r failed", sink)

    def _publish(self, rejected: Sequence[Rejected], events: Sequence[AlertEvent]) -> None:
        if self.outbox is None:
            return
        for d in rejected:
            self.outbox.publish(deadletter_topic(d.tenant), deadletter_message(d), 1)
        for e in events:
            payload = json.dumps(event_to_json(e), ensure_ascii=False).encode()
            self.outbox.publish(alert_topic(e.alert.tenant, e.alert.patient_id), payload, 1)

    @staticmethod
    def _count(
        batch: Sequence[Inbound],
        readings: Sequence[Reading],
        new: Sequence[Reading],
        rejected: Sequence[Rejected],
        events: Sequence[AlertEvent],
    ) -> None:
        metrics.BATCH_SIZE.observe(len(batch))
        metrics.MESSAGES.labels("accepted").inc(len(batch) - len(rejected))
        if rejected:
            metrics.MESSAGES.labels("rejected").inc(len(rejected))
            for d in rejected:
                metrics.DEADLETTERS.labels(d.reason.value).inc()
        metrics.DUPLICATES.inc(len(readings) - len(new))
        for kind, n in Counter(r.kind.value for r in new).items():
            metrics.READINGS_STORED.labels(kind).inc(n)
        late = sum(1 for r in new if "late" in r.flags)
        if late:
            metrics.LATE.inc(late)
        for e in events:
            metrics.ALERT_EVENTS.labels(e.event.value, e.alert.code).inc()
