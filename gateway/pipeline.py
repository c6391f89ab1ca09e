"""One pipeline for every reading: decode -> store -> detect -> desk -> persist -> notify.

Live ingest (`gateway.ingest`), `hmg replay` (`gateway.replay`) and the API all go through a
`Pipeline`; each stage is one method, and the order is this code, not the order of a list:

1. `decode` (sync): messages -> readings and rejects (`gateway.intake.Intake`).
2. `store`: new devices, dead letters and readings durably written, or `StoreUnavailableError`
   (then nothing of the batch may be acknowledged). Live ingest acknowledges after this step.
3. `detect` (sync): each new reading through its patient's detectors (`alerts.engine`), their
   candidates into the alert desk (`alerts.desk`): alert events and escalation-timer changes.
4. `record`: the events and the timers they moved in one transaction, then the notifiers.

`finish` runs 3 and 4 (plus the dead-letter topic and metrics) for a stored batch; `tick` runs
the clock's part (detector timeouts, silent devices, escalation deadlines) and then 4. A replay
has no storage: it uses `decode`, `detect` and `advance` on its own clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alerts.desk import AlertDesk, DeskResult
from alerts.engine import DetectionEngine
from alerts.model import AlertEvent
from alerts.serialize import event_to_json
from devices.model import Reading, deadletter_topic, utcnow
from gateway.intake import Decoded, Inbound, Intake, Rejected
from gateway.metrics import Metrics
from gateway.storage import DeadLetter, ReadingStore, Stores, StoreUnavailableError
from gateway.storage.readings import PositionedStore

log = logging.getLogger(__name__)

# The progress stream of the single gateway: positions are the readings table's row ids.
LOCAL_STREAM = "local"


class Outbox(Protocol):
    """Where the gateway publishes (the MQTT link in production)."""

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
    """The stages above over one intake, detection engine and alert desk.

    `readings`/`stores` are the storage (absent in a replay, which never stores); `sinks` are
    told every alert event after it is stored (the gateway's notification dispatcher, then any
    extra listener). Without sinks, events go to the outbox's alert topic directly.
    """

    def __init__(
        self,
        intake: Intake,
        engine: DetectionEngine,
        desk: AlertDesk,
        *,
        readings: ReadingStore | None = None,
        stores: Stores | None = None,
        outbox: Outbox | None = None,
        sinks: Sequence[AlertSink] = (),
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.intake = intake
        self.engine = engine
        self.desk = desk
        self.readings = readings
        self.stores = stores
        self.outbox = outbox
        self.sinks = list(sinks)
        self.metrics = metrics or Metrics()
        self.clock = clock
        # Held from detection until its events are stored (and by ticks and snapshots): the
        # detectors' state then always matches the stored progress when a snapshot is taken.
        self.detecting = asyncio.Lock()
        self.position: int | None = None  # the last progress stored with alert events
        self.consistent = True  # False once detection ran but its alerts could not be stored

    # -- 1. decode ------------------------------------------------------------------------
    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        """Decode and resolve once; `store` may then be retried until the store takes it."""
        return self.intake.decode(batch)

    # -- 2. store -------------------------------------------------------------------------
    async def store(self, decoded: Decoded) -> list[Reading]:
        """The durable part: new devices, dead letters and readings (the new ones are returned).
        Raises StoreUnavailableError on any storage failure; may be retried with the same
        `decoded`."""
        readings, stores = self._storage()
        try:
            for dev in decoded.new_devices:
                await stores.patients.save_device(dev, self.clock())
            # Rejected payloads are kept for inspection; readings are stored once.
            await stores.deadletters.save(
                [
                    DeadLetter(
                        d.tenant, d.topic, d.reason.value, d.detail, d.payload, d.received_at
                    )
                    for d in decoded.rejected
                ]
            )
            new = await readings.write(decoded.readings)
            if isinstance(readings, PositionedStore):
                decoded.position = readings.position
        except Exception as exc:
            self.metrics.store_failures.inc()
            if isinstance(exc, StoreUnavailableError):
                raise
            raise StoreUnavailableError(str(exc)) from exc
        decoded.new_devices.clear()
        return new

    # -- 3. detect (detectors, then the desk) ---------------------------------------------
    def detect(self, readings: Sequence[Reading]) -> DeskResult:
        """Each reading through its patient's detectors, their candidates into the desk at the
        pipeline's clock. The staleness watch sees each device on the server clock (its
        receive time; the replay clock in a replay); shared kiosks are not watched."""
        now = self.clock()
        replaying = self.intake.replaying
        result = DeskResult()
        for r in readings:
            if r.patient_id is None:
                continue
            candidates = self.engine.process(r)
            seen_at = None
            if not self.intake.is_kiosk(r.device_id):
                seen_at = now if replaying else r.received_at
            result = result.then(self.desk.observe(candidates, now, reading=r, seen_at=seen_at))
        return result

    def advance(self, now: datetime) -> DeskResult:
        """The clock's part at `now`: detector timeouts, silent devices, due escalations."""
        return self.desk.tick(now, self.engine.tick(now))

    # -- 4. persist, then notify ----------------------------------------------------------
    async def record(
        self, result: DeskResult, client: str | None, progress: tuple[str, int] | None = None
    ) -> bool:
        """Store the events and the timers they moved in one transaction, then notify. If the
        store fails, nobody is told (the timers are kept to be stored with the next result).

        `progress` (stream, position) says which readings these events complete; it is stored
        in the same transaction, so a restart knows exactly which stored readings still need
        their detection run (`gateway.recovery`)."""
        if not result and progress is None:
            return True
        _, stores = self._storage()
        try:
            async with stores.transaction() as tx:
                await stores.alerts.save_events(result.events, client, tx=tx)
                await stores.timers.save(result.timers.saved, result.timers.deleted, tx=tx)
                if progress is not None:
                    await stores.progress.advance(*progress, self.clock(), tx=tx)
        except Exception:
            log.exception("could not store %d alert events", len(result.events))
            self.desk.unsaved(result.timers)
            if progress is not None:
                self.consistent = False
            return False
        if progress is not None:
            self.position = progress[1]
        await self.notify(result.events)
        return True

    async def notify(self, events: Sequence[AlertEvent]) -> None:
        """Every alert event goes out here, after it is stored."""
        if not events:
            return
        if not self.sinks:
            self._publish_events(events)
        for sink in self.sinks:
            try:
                await sink.send(events)
            except Exception:  # a channel failure must never stop ingest
                log.exception("alert sink %r failed", sink)

    # -- the stages together --------------------------------------------------------------
    async def finish(
        self, batch: Sequence[Inbound], decoded: Decoded, new: list[Reading], t0: float
    ) -> BatchResult:
        """After the store (and the acknowledgement): detection and alerting, the dead-letter
        topic, metrics. `t0` is when the batch's store began (for the batch duration metric).
        A failure in detection is logged; the readings stay stored."""
        events: list[AlertEvent] = []
        progress = None if decoded.position is None else (LOCAL_STREAM, decoded.position)
        async with self.detecting:
            try:
                result = self.detect(new)
            except Exception:
                log.exception("alert processing failed for %d readings", len(new))
            else:
                if await self.record(result, client="gateway", progress=progress):
                    events = list(result.events)
        self._count(batch, decoded.readings, new, decoded.rejected, events)
        self._publish_rejects(decoded.rejected)
        self.metrics.batch_seconds.observe(time.perf_counter() - t0)
        return BatchResult(
            len(batch), len(new), len(decoded.readings) - len(new), len(decoded.rejected), events
        )

    async def handle(self, batch: Sequence[Inbound]) -> BatchResult:
        """Every stage for one batch (the API's and tests' way in; live ingest runs the stages
        itself so that it can acknowledge between `store` and `finish`)."""
        t0 = time.perf_counter()
        decoded = self.decode(batch)
        new = await self.store(decoded)
        return await self.finish(batch, decoded, new, t0)

    async def tick(self) -> list[AlertEvent]:
        """The clock's part at the pipeline's clock, stored and notified."""
        async with self.detecting:
            result = self.advance(self.clock())
            await self.record(result, client="scheduler")
        return list(result.events)

    # -- helpers --------------------------------------------------------------------------
    def _storage(self) -> tuple[ReadingStore, Stores]:
        if self.readings is None or self.stores is None:
            raise RuntimeError("this pipeline has no storage (a replay only decodes and detects)")
        return self.readings, self.stores

    def _publish_rejects(self, rejected: Sequence[Rejected]) -> None:
        if self.outbox is None:
            return
        for d in rejected:
            self.outbox.publish(deadletter_topic(d.tenant), deadletter_message(d), 1)

    def _publish_events(self, events: Sequence[AlertEvent]) -> None:
        if self.outbox is None:
            return
        for e in events:
            payload = json.dumps(event_to_json(e), ensure_ascii=False).encode()
            self.outbox.publish(alert_topic(e.alert.tenant, e.alert.patient_id), payload, 1)

    def _count(
        self,
        batch: Sequence[Inbound],
        readings: Sequence[Reading],
        new: Sequence[Reading],
        rejected: Sequence[Rejected],
        events: Sequence[AlertEvent],
    ) -> None:
        m = self.metrics
        m.batch_size.observe(len(batch))
        m.messages.labels("accepted").inc(len(batch) - len(rejected))
        if rejected:
            m.messages.labels("rejected").inc(len(rejected))
            for d in rejected:
                m.deadletters.labels(d.reason.value).inc()
        m.duplicates.inc(len(readings) - len(new))
        for kind, n in Counter(r.kind.value for r in new).items():
            m.readings_stored.labels(kind).inc(n)
        late = sum(1 for r in new if "late" in r.flags)
        if late:
            m.late.inc(late)
        for e in events:
            m.alert_events.labels(e.event.value, e.alert.code).inc()
