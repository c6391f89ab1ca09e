"""The detector-worker role: owns patient partitions, analyses them in order, hands them over.

Each owned partition has its own detection engine and alert desk (a patient's state lives in
exactly one partition) and its own ordered JetStream consumer on `hmg.part.<n>`.

Exactly once, across kills and hand-overs:
- The relational store keeps, per partition, the last stream sequence whose alert events are
  stored (`progress`), written in the same transaction as those events and their timers.
- A snapshot holds the detectors' state and the sequence it covers (`snap`). It is written
  every `snapshot_interval_s` and when the partition is handed over, always after the events it
  covers are stored (so `snap <= progress`).
- A worker taking a partition restores the snapshot, rebuilds the desk from the stored active
  alerts and timers (the state at `progress`), and consumes from `snap + 1`: messages up to
  `progress` only rebuild detector state (their alerts are already stored and sent), later ones
  go the whole way. Detectors are deterministic, so the rebuilt state equals the lost one.
- A device message is acknowledged only after its events are stored; a failure to store
  restarts the partition from its snapshot instead of going on with state nobody stored.

Clinicians' actions taken through the API role come to the partition's owner on
`hmg.act.<n>` (`gateway.scale.action_routing`) and go through the partition's own action path
on its desk, taking turns with detection and timers (the partition's lock). The owner stops
answering before it hands the partition over, after the action it is applying is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore

from alerts.desk import DeskResult
from devices.model import utcnow
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Runtime
from gateway.scale.action_routing import PartitionActions
from gateway.scale.envelope import EnvelopeError, unpack
from gateway.scale.leases import Membership
from gateway.scale.partition import partition_of, subject
from gateway.scale.streams import PART_PREFIX, PART_STREAM
from gateway.snapshot import DetectorState, SnapshotError, seal, unseal

log = logging.getLogger(__name__)

SNAPSHOT_BUCKET = "hmg_snapshots"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What a worker reads of the settings (`WorkerSettings.of`); `batch` messages at a time."""

    partitions: int
    lease_ttl_s: float
    snapshot_interval_s: float
    tick_interval_s: float
    replicas: int
    batch: int = 256

    @classmethod
    def of(cls, settings: Settings) -> WorkerSettings:
        scale = settings.scale
        return cls(
            partitions=scale.partitions,
            lease_ttl_s=scale.lease_ttl_s,
            snapshot_interval_s=scale.snapshot_interval_s,
            tick_interval_s=settings.detection.tick_interval_s,
            replicas=scale.nats_replicas,
        )


class PartitionRunner:
    """One owned partition (see module docstring)."""

    def __init__(
        self,
        partition: int,
        runtime: Runtime,
        nc: NatsClient,
        snapshots: ObjectStore,
        settings: WorkerSettings,
        key: bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.partition = partition
        self.runtime = runtime
        self.nc = nc
        self.snapshots = snapshots
        self.settings = settings
        self.key = key
        self.clock = clock
        unit = self.unit = runtime.partition()  # wired like the single gateway's own
        self.engine = unit.engine
        self.desk = unit.desk
        self.pipeline = unit.pipeline
        self.actions = unit.actions  # clinicians' actions, routed here by the API role
        self.lock = asyncio.Lock()  # detection, timers and actions take turns on the desk
        self.snap_seq = 0  # last stream sequence covered by the stored snapshot
        self.seq = 0  # last stream sequence analysed
        self.progress = 0  # last stream sequence whose events are stored
        self.analysed = 0  # messages taken through detection (not only replayed)
        self._last_snapshot = time.monotonic()

    @property
    def name(self) -> str:
        return f"p.{self.partition}"

    def _mine(self, tenant: str, patient_id: str) -> bool:
        return partition_of(tenant, patient_id, self.settings.partitions) == self.partition

    async def restore(self) -> None:
        """Detector state from the snapshot, desk state from the stored alerts and timers."""
        state: DetectorState | None = None
        try:
            blob = (await self.snapshots.get(self.name)).data
        except ObjectNotFoundError:
            blob = None
        if blob:
            try:
                snap = unseal(blob, self.key)
            except SnapshotError:
                log.exception("partition %d: snapshot refused, warming up", self.partition)
                snap = None
            if snap is not None and isinstance(snap.state, DetectorState):
                state, self.snap_seq = snap.state, snap.seq
        if state is not None:
            state.restore(self.engine, self.desk)
        stores = self.runtime.stores
        active = [a for a in await stores.alerts.active() if self._mine(a.tenant, a.patient_id)]
        ids = {a.alert_id for a in active}
        timers = [t for t in await stores.timers.load() if t.alert_id in ids]
        self.desk.replace_flags({p.key: p.flags for p in await stores.patients.patients()})
        self.desk.load(active, timers)
        self.progress = await stores.progress.get(self.name)
        self.seq = self.snap_seq
        log.info(
            "partition %d: snapshot at %d, events stored up to %d",
            self.partition,
            self.snap_seq,
            self.progress,
        )

    async def snapshot(self) -> None:
        """Store the detector state at `self.seq` (all of whose events are stored)."""
        blob = seal(
            DetectorState.capture(self.engine, self.desk),
            self.partition,
            self.seq,
            self.key,
            self.clock(),
        )
        await self.snapshots.put(self.name, blob)
        self.snap_seq = self.seq
        self._last_snapshot = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        js = self.nc.jetstream()
        sub = await js.pull_subscribe(
            subject(PART_PREFIX, self.partition),
            stream=PART_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.snap_seq + 1,
                ack_policy=AckPolicy.EXPLICIT,
                inactive_threshold=60.0,
            ),
        )
        next_tick = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.settings.batch, timeout=0.25)
                except TimeoutError:  # nats-py raises its own or asyncio's
                    msgs = []
                if msgs:
                    async with self.lock:
                        await self._batch(msgs)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.settings.tick_interval_s
                    async with self.lock:
                        await self._record(self.pipeline.advance(self.clock()), None)
                if time.monotonic() - self._last_snapshot >= self.settings.snapshot_interval_s:
                    await self.snapshot()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _batch(self, msgs: list[Msg]) -> None:
        readings = []
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq <= self.seq:
                continue  # delivered again after a reconnect: already analysed
            try:
                r = unpack(m.data)
            except EnvelopeError:
                log.exception("partition %d: unreadable message %d skipped", self.partition, seq)
                self.seq = seq
                continue
            if seq <= self.progress:
                self.engine.process(r)  # alerts of this reading are stored: state only
            else:
                readings.append(r)
            self.seq = seq
        if readings:
            await self._record(self.pipeline.detect(readings), self.seq)
            self.analysed += len(readings)
        for m in msgs:
            await m.ack()

    async def _record(self, result: DeskResult, seq: int | None) -> None:
        """Events, timers and progress in one transaction, then the notifications. A failure
        stops the partition: it restarts from its snapshot rather than go on with state whose
        alerts nobody stored."""
        progress = (self.name, seq) if seq is not None else None
        if not await self.pipeline.record(result, "worker", progress):
            raise RuntimeError(f"partition {self.partition}: alert events not stored")
        if seq is not None:
            self.progress = seq


class Worker:
    """Holds leases on partitions and runs one `PartitionRunner` per held partition."""

    def __init__(
        self,
        runtime: Runtime,
        nc: NatsClient,
        worker_id: str,
        settings: WorkerSettings,
        key: bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.nc = nc
        self.worker_id = worker_id
        self.settings = settings
        self.key = key
        self.clock = clock
        self.membership = Membership(
            nc.jetstream(), worker_id, settings.partitions, settings.lease_ttl_s, settings.replicas
        )
        self.runners: dict[int, tuple[PartitionRunner, asyncio.Event, asyncio.Task[None]]] = {}
        self.answering: dict[int, PartitionActions] = {}  # owned partitions' action subjects
        self._snapshots: ObjectStore | None = None

    @property
    def owned(self) -> set[int]:
        return set(self.runners)

    @property
    def analysed(self) -> int:
        return sum(r.analysed for r, _, _ in self.runners.values())

    async def run(self, stop: asyncio.Event) -> None:
        js = self.nc.jetstream()
        await self.membership.open()
        self._snapshots = await js.create_object_store(SNAPSHOT_BUCKET)
        beat = self.settings.lease_ttl_s / 3
        renewer = asyncio.create_task(self._renew_every(beat, stop))
        try:
            while not stop.is_set():
                try:
                    await self._rebalance()
                except (nats.errors.Error, OSError):
                    log.exception("worker %s: rebalance failed; trying again", self.worker_id)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), beat)
        finally:
            await renewer
            for p in list(self.runners):
                await self._release(p, snapshot=True)
            with contextlib.suppress(nats.errors.Error):
                await self.membership.leave()

    async def _renew_every(self, beat: float, stop: asyncio.Event) -> None:
        """Keep the held leases, on their own clock: starting partitions (database reads) must
        never delay a renewal past the lease's TTL. A lost lease stops its partition at once."""
        while not stop.is_set():
            for p in list(self.membership.held):
                try:
                    kept = await self.membership.renew(p)
                except nats.errors.Error:
                    log.exception("partition %d: lease renewal failed", p)
                    continue  # the next beat tries again; the TTL decides
                if not kept and p in self.runners:
                    await self._stop_runner(p)  # someone else has it now: no snapshot
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), beat)

    async def _rebalance(self) -> None:
        wanted = await self.membership.beat()
        for p in sorted(self.owned):
            _, _, task = self.runners[p]
            if task.done():  # failed: start again from its snapshot
                if not task.cancelled() and task.exception() is not None:
                    log.error("partition %d failed: %r; restarting it", p, task.exception())
                await self._release(p, snapshot=False)
            elif p not in wanted:
                await self._release(p, snapshot=True)
            elif p not in self.answering:
                await self._answer(p)
        for p in sorted(wanted - self.owned):
            if await self.membership.acquire(p):
                await self._start(p)

    async def _start(self, p: int) -> None:
        assert self._snapshots is not None
        runner = PartitionRunner(
            p, self.runtime, self.nc, self._snapshots, self.settings, self.key, self.clock
        )
        await runner.restore()
        stop = asyncio.Event()
        self.runners[p] = (runner, stop, asyncio.create_task(runner.run(stop)))
        await self._answer(p)
        log.info("worker %s took partition %d", self.worker_id, p)

    async def _answer(self, p: int) -> None:
        """Take the partition's actions (`hmg.act.<p>`); a failure is retried at the next beat."""
        runner = self.runners[p][0]
        answering = PartitionActions(
            self.nc,
            p,
            self.settings.partitions,
            runner.actions,
            runner.lock,
            worker=self.worker_id,
            owns=lambda: p in self.membership.held and p in self.runners,
        )
        try:
            await answering.open()
        except nats.errors.Error:
            log.exception("partition %d: not taking actions yet; trying again", p)
            return
        self.answering[p] = answering

    async def _stop_runner(self, p: int) -> PartitionRunner:
        if (answering := self.answering.pop(p, None)) is not None:
            await answering.close()  # refuse from now on; the action being applied is stored
        runner, stop, task = self.runners.pop(p)
        stop.set()
        with contextlib.suppress(Exception):
            await task
        self.runtime.drop(runner.unit)
        return runner

    async def _release(self, p: int, *, snapshot: bool) -> None:
        runner = await self._stop_runner(p)
        if snapshot:
            try:
                await runner.snapshot()
            except Exception:
                log.exception("partition %d: snapshot at hand-over failed", p)
        await self.membership.release(p)
        log.info("worker %s released partition %d", self.worker_id, p)
