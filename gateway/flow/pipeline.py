"""One pipeline for every reading; the order of its stages is this module's code:
decode -> store -> acknowledge -> detect -> desk -> record -> notify.

1. `decode` (sync): messages -> readings and rejects (`gateway.flow.intake.Intake`).
2. `store`: devices, dead letters and readings durably written, or `StoreUnavailableError`.
3. acknowledge: `run` has the source (the MQTT link, transport only) PUBACK a stored batch.
4. `detect` (sync): new readings through their patients' detectors (`alerts.engine`), the
   candidates into the alert desk (`alerts.desk`): alert events and escalation-timer changes.
   A stored batch goes in two lanes the engine splits (`alerts.urgency`): the urgent lane is
   detected and recorded first, then the bulk lane in slices of at most `SLICE_S` of work, with
   a yield to the event loop after each.
5. `record`: events, the timers they moved and the progress as one alert record, written by the
   outbox (`gateway.notifiers.outbox`) with their notifications in one transaction
   (`gateway.storage.record`) and delivered once committed.

`run` is live ingest (stages overlapped batch by batch), `handle` the same stages for one batch
(API, tests), `finish` 4 and 5 for a stored batch, `tick` the clock's part and then 5. A replay
has no storage: it uses `decode`, `detect` and `advance` on its own clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import islice

from alerts.desk import AlertDesk, DeskResult
from alerts.engine import DetectionEngine
from alerts.model import AlertCandidate, AlertEvent
from devices.model import Reading, deadletter_topic, utcnow
from gateway.flow.intake import Decoded, Inbound, Intake, Rejected
from gateway.flow.ports import AlertOutbox, BatchResult, Source, deadletter_message
from gateway.metrics import Metrics
from gateway.notifiers.mqtt import Publisher
from gateway.storage import (
    AlertRecord,
    DeadLetter,
    Progress,
    ReadingStore,
    Stores,
    StoreUnavailableError,
)
from gateway.storage.readings import PositionedStore

log = logging.getLogger(__name__)

# The progress stream of the single gateway: positions are the readings table's row ids.
LOCAL_STREAM = "local"
# Bulk detection yields to the event loop after this much work, checking the clock every
# `BULK_STEP` readings; a tick takes the detectors' timeouts this many patients at a time.
SLICE_S = 0.02
BULK_STEP = 8
TICK_STEP = 250


class Pipeline:
    """The stages above over one intake, detection engine and alert desk.

    `readings`/`stores` are the storage and `outbox` records the alert changes (absent in a
    replay, which never stores): every event's notifications (broadcast channels and the
    escalation tier's people) are stored in the event's own transaction and sent once it is
    committed. `publisher` (the MQTT link, once it runs) takes the dead-letter topic.
    """

    def __init__(
        self,
        intake: Intake,
        engine: DetectionEngine,
        desk: AlertDesk,
        *,
        readings: ReadingStore | None = None,
        stores: Stores | None = None,
        publisher: Publisher | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        outbox: AlertOutbox | None = None,
    ) -> None:
        self.intake = intake
        self.outbox = outbox
        self.engine = engine
        self.desk = desk
        self.readings = readings
        self.stores = stores
        self.publisher = publisher
        self.processed = 0  # live messages through every stage (`run`)
        self.metrics = metrics or Metrics()
        self.clock = clock
        # Held from detection until its events are stored (and by ticks and snapshots): the
        # detectors' state then always matches the stored progress when a snapshot is taken.
        self.detecting = asyncio.Lock()
        self.position: int | None = None  # how far detection has run (stored or not)
        self._saved: int | None = None  # the progress last stored
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
            if decoded.new_devices:  # a cohort's first arrival registers in one transaction
                await stores.patients.save_devices(decoded.new_devices, self.clock())
            if decoded.rejected:  # rejected payloads are kept for inspection
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
        receive time; the replay clock in a replay); shared kiosks are not watched. The
        detectors first prepare the whole of `readings` in blocks (`DetectionEngine.detect`)."""
        return self._observe(self.engine.detect(readings))

    def _observe(self, detected: Iterable[tuple[Reading, list[AlertCandidate]]]) -> DeskResult:
        """The desk's part of `detect` (a lane detected as a whole goes in slice by slice)."""
        now = self.clock()
        replaying = self.intake.replaying
        result = DeskResult()
        for r, candidates in detected:
            if r.patient_id is None:
                continue
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
        """Store the events, the timers they moved and their notifications as one alert record
        (one transaction), then notify, through the outbox. If the store fails, nobody is told
        (the timers are kept to be stored with the next result).

        `progress` (stream, position) says which readings these events complete; it is stored
        in the same transaction as events, so a restart knows exactly which stored readings
        still need their detection run (`gateway.flow.recovery`). A batch that changed nothing only
        moves the position in memory (no transaction per quiet batch): `save_progress` stores
        it before each snapshot, and the readings after the stored progress are analysed again
        at a restart from the snapshot's state, which raises nothing they did not raise."""
        if progress is not None and not result:
            self._advance(progress[1])
            return True
        if not result:
            return True
        if self.outbox is None:
            raise RuntimeError("this pipeline has no outbox (a replay only decodes and detects)")
        record = AlertRecord(
            at=self.clock(),
            events=result.events,
            timers=result.timers,
            client=client,
            progress=None if progress is None else Progress(*progress),
        )
        try:
            await self.outbox.record(record)
        except Exception:
            log.exception("could not store %d alert events", len(result.events))
            self.desk.unsaved(result.timers)
            if progress is not None:
                self.consistent = False
            return False
        if progress is not None:
            self._advance(progress[1])
            self._saved = self.position
        return True

    def _advance(self, position: int) -> None:
        if self.position is None or position > self.position:
            self.position = position

    async def save_progress(self) -> None:
        """Store how far detection has run, if it ran past the stored progress (called with
        `detecting` held, before a snapshot: the snapshot's position is then stored too)."""
        if self.position is None or self.position == self._saved:
            return
        _, stores = self._storage()
        await stores.progress.advance(LOCAL_STREAM, self.position, self.clock())
        self._saved = self.position

    async def raise_now(self, candidates: Sequence[AlertCandidate], tenant: str) -> None:
        """Candidates that come from the gateway itself (a notification channel that keeps
        failing), through the desk and stored like a detector's."""
        async with self.detecting:
            await self.record(self.desk.observe(candidates, self.clock(), tenant=tenant), "gateway")

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
                events = await self._detect_in_lanes(new, progress)
            except Exception:
                log.exception("alert processing failed for %d readings", len(new))
        self.metrics.count_batch(len(batch), decoded.readings, new, decoded.rejected, events)
        self._publish_rejects(decoded.rejected)
        self.metrics.batch_seconds.observe(time.perf_counter() - t0)
        return BatchResult(
            len(batch), len(new), len(decoded.readings) - len(new), len(decoded.rejected), events
        )

    async def _detect_in_lanes(
        self, new: Sequence[Reading], progress: tuple[str, int] | None
    ) -> list[AlertEvent]:
        """Detection of a stored batch in the engine's two lanes (`DetectionEngine.lanes`): the
        urgent lane's alerts stored and handed to the sender first, then the bulk lane in slices
        of bounded work with a yield to the event loop after each (its alerts recorded slice by
        slice); the batch's progress goes with the last record. Called with `detecting` held."""
        lane, bulk = self.engine.lanes(new)
        events: list[AlertEvent] = []
        if lane:
            urgent = self.detect(lane)
            if not bulk:  # the whole batch: one record, with its progress
                return await self._record_detected(urgent, progress)
            # Stored ahead of the batch's progress: a crash before the bulk lane is recorded
            # has the urgent readings analysed again at the restart, from the snapshot's state
            # (their alerts are stored already, so nothing is raised twice).
            events += await self._record_detected(urgent, None)
        pending = DeskResult()
        detected = self.engine.detect(bulk)
        deadline = time.perf_counter() + SLICE_S
        for lo in range(0, len(bulk), BULK_STEP):
            pending = pending.then(self._observe(islice(detected, BULK_STEP)))
            if time.perf_counter() >= deadline and lo + BULK_STEP < len(bulk):
                if pending:
                    events += await self._record_detected(pending, None)
                    pending = DeskResult()
                await asyncio.sleep(0)
                deadline = time.perf_counter() + SLICE_S
        events += await self._record_detected(pending, progress)
        return events

    async def _record_detected(
        self, result: DeskResult, progress: tuple[str, int] | None
    ) -> list[AlertEvent]:
        """Record detection's result; if it cannot be stored, the detectors' state no longer
        matches what is stored (no snapshot until a restart resumes from the stored one)."""
        if not result and progress is None:
            return []
        if await self.record(result, client="gateway", progress=progress):
            return list(result.events)
        self.consistent = False
        return []

    async def run(self, source: Source, stop: asyncio.Event) -> None:
        """Live ingest: every stage in arrival order, three batches in flight. While batch N
        goes through detection and alerting, batch N+1 is written, and batch N+2 is taken and
        decoded. A batch is acknowledged as soon as it is stored (PUBACKs in arrival order);
        its detection follows. At most one batch per stage plus the source's queue are out."""
        storing: asyncio.Task[None] | None = None
        finishing: asyncio.Task[None] | None = None

        async def store_and_ack(batch: list[Inbound], decoded: Decoded) -> None:
            nonlocal finishing
            t0 = time.perf_counter()
            new = await self._store_until_stored(source, batch, decoded, stop)
            if new is None:
                return
            source.ack(batch)
            if finishing is not None:
                await finishing  # detection runs one batch at a time, in order
            finishing = asyncio.create_task(self._finish_live(batch, decoded, new, t0))

        try:
            while not stop.is_set():
                batch = await asyncio.to_thread(source.take_batch)
                self.metrics.queue_depth.set(source.backlog)
                decoded = self.decode(batch) if batch else None
                if storing is not None:
                    await storing
                    storing = None
                if batch and decoded is not None:
                    storing = asyncio.create_task(store_and_ack(batch, decoded))
        finally:
            if storing is not None:
                await storing
            if finishing is not None:
                await finishing

    async def _store_until_stored(
        self, source: Source, batch: list[Inbound], decoded: Decoded, stop: asyncio.Event
    ) -> list[Reading] | None:
        """Retry the durable write until it succeeds. On stop, give up without acknowledging
        (None): the broker redelivers the batch to the next session."""
        delay = 0.2
        while True:
            try:
                return await self.store(decoded)
            except StoreUnavailableError as exc:
                log.warning(
                    "store unavailable, %d messages held unacknowledged: %s", len(batch), exc
                )
                if stop.is_set():
                    source.release(batch)
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _finish_live(
        self, batch: list[Inbound], decoded: Decoded, new: list[Reading], t0: float
    ) -> None:
        try:
            await self.finish(batch, decoded, new, t0)
        except Exception:  # the readings are stored and acknowledged; keep ingesting
            log.exception("post-store processing failed for a batch of %d", len(batch))
        self.processed += len(batch)

    async def handle(self, batch: Sequence[Inbound]) -> BatchResult:
        """Every stage for one batch (the API's and tests' way in; live ingest runs the stages
        itself so that it can acknowledge between `store` and `finish`)."""
        t0 = time.perf_counter()
        decoded = self.decode(batch)
        new = await self.store(decoded)
        return await self.finish(batch, decoded, new, t0)

    async def tick(self) -> list[AlertEvent]:
        """The clock's part at the pipeline's clock, stored and notified: the same as `advance`,
        with the detectors' timeouts taken a slice of patients at a time and a yield to the
        event loop between slices (a tick over every device is bulk work)."""
        async with self.detecting:
            now = self.clock()
            patients = self.engine.patients()
            candidates = []
            for lo in range(0, len(patients), TICK_STEP):
                candidates += self.engine.tick(now, patients[lo : lo + TICK_STEP])
                if lo + TICK_STEP < len(patients):
                    await asyncio.sleep(0)
            result = self.desk.tick(now, candidates)
            await self.record(result, client="scheduler")
        return list(result.events)

    # -- helpers --------------------------------------------------------------------------
    def _storage(self) -> tuple[ReadingStore, Stores]:
        if self.readings is None or self.stores is None:
            raise RuntimeError("this pipeline has no storage (a replay only decodes and detects)")
        return self.readings, self.stores

    def _publish_rejects(self, rejected: Sequence[Rejected]) -> None:
        if self.publisher is None:
            return
        for d in rejected:
            self.publisher.publish(deadletter_topic(d.tenant), deadletter_message(d), 1)
