"""The running service: a `Runtime` (`gateway.runtime.wiring`) started, ticked and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from alerts.desk import DeskResult
from alerts.policy import EscalationPolicy
from alerts.targets import DEFAULT_TARGETS
from devices.model import utcnow
from gateway.fhir.push import STREAM as PUSH_STREAM
from gateway.flow.actions import ActionPath
from gateway.flow.recovery import Recovery
from gateway.link.ingest import MqttIngest
from gateway.notifiers import MqttTopicChannel, NotifierConfig
from gateway.notifiers.base import AlertSink
from gateway.results.desk import STREAM as RESULTS_STREAM
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Role, build

log = logging.getLogger(__name__)

# How often the patient context for escalation (lives alone, disability) is read again.
PATIENT_FLAGS_REFRESH_S = 60.0
JOURNAL_PRUNE_S = 60.0  # how often the reading journal drops what its followers have read


class Gateway:
    """Runs a `Runtime` (`gateway.runtime.wiring.build`): `start`/`stop` bracket its life,
    with the MQTT ingest, the timers, the detector snapshots, the retention job and the
    runtime's jobs beside detection (`platform`, `followups`, `results`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        role: Role = Role.GATEWAY,
        clock: Callable[[], datetime] = utcnow,
        sinks: list[AlertSink] | None = None,
        policies: Mapping[str, EscalationPolicy] | None = None,
        notifiers: NotifierConfig | None = None,
    ) -> None:
        rt = build(
            settings, role, clock=clock, sinks=sinks or (), policies=policies, notifiers=notifiers
        )
        self.runtime = rt
        self.settings = settings
        self.clock = clock
        self.db = rt.db
        self.stores = rt.stores
        self.readings = rt.readings
        self.registry = rt.registry
        self.metrics = rt.metrics
        self.policies = rt.policies
        self.desk = rt.desk
        self.engine = rt.engine
        self.intake = rt.intake
        self.sse = rt.sse
        self.admin = rt.admin
        self.notifications = rt.notifications
        self.pipeline = rt.pipeline
        self.consult = rt.consult
        self.recovery = rt.recovery
        self.platform = rt.platform  # None unless HMG_PLATFORM_URL is set
        self.followups = rt.followups
        self.results = rt.results  # None unless SMS or e-mail is configured (or HMG_RESULTS_*)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.sending: asyncio.Task[None] | None = None  # the outbox sender

    @property
    def actions(self) -> ActionPath:
        """The API's action path (the scaled-out API role routes it to the partition owners)."""
        return self.runtime.actions

    @actions.setter
    def actions(self, path: ActionPath) -> None:
        self.runtime.actions = path

    @property
    def ingest(self) -> MqttIngest | None:
        return self.runtime.ingest

    async def refresh_patient_flags(self) -> None:
        """Patient context for escalation and detectors (lives_alone, disability) from the
        patient records; detectors of patients whose context changed take it at once."""
        before = {key: self.desk.flags_of(key) for key in self.engine.patients()}
        self.desk.replace_flags({p.key: p.flags for p in await self.stores.patients.patients()})
        for key, flags in before.items():
            if self.desk.flags_of(key) != flags:
                self.engine.retarget(key)

    async def start(self, *, mqtt: bool = True, detection: bool = True) -> None:
        """Load the registry, targets, alerts and timers; then (unless `detection` is off, as in
        the scaled-out roles, whose workers detect) resume detection where it stopped and run
        the MQTT ingest and the timers."""
        await self.db.create_schema()
        for dev in await self.stores.patients.devices():
            self.registry.put(dev)
        for p in await self.stores.patients.patients():
            self.registry.admit(p.patient_id, p.tenant)
            if p.targets:
                self.runtime.book.targets[p.key] = DEFAULT_TARGETS.with_overrides(p.targets)
        active = await self.stores.alerts.active()  # with their assignees
        await self.refresh_patient_flags()
        await self.consult.load()  # the centres' escalation policies, before their timers
        # Alerts whose timer was lost get one (missed deadlines fire at the first tick).
        rearmed = self.desk.load(active, await self.stores.timers.load())
        if not (mqtt and detection) and isinstance(
            self.notifications.channels.get("mqtt"), MqttTopicChannel
        ):  # the alert topic through the MQTT link: only the gateway that runs the link has one
            self.notifications.channels.pop("mqtt")
        # With what a previous run left undelivered (every role sends what it stores).
        self.sending = asyncio.create_task(self.notifications.run(self._stop))
        if self.platform is not None:
            self._tasks.append(asyncio.create_task(self.platform.run(self._stop)))
        if not detection:
            return  # the partitions' owners keep the timers (a worker re-arms what it takes)
        await self.stores.timers.save(rearmed.saved, rearmed.deleted)
        if self.recovery is not None:
            self.settings.storage.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            await self.recovery.resume()
            self._tasks.append(asyncio.create_task(self._snapshots(self.recovery)))
        if mqtt:
            s = self.settings
            ingest = self.runtime.ingest = MqttIngest(
                s.mqtt.link(window=s.ingest.queue_max),
                batch_max=s.ingest.batch_max,
                batch_linger_s=s.ingest.batch_linger_ms / 1000.0,
                clock=self.clock,
            )
            self.pipeline.publisher = ingest
            ingest.start()
            self._tasks.append(asyncio.create_task(self.pipeline.run(ingest, self._stop)))
        self._tasks.append(asyncio.create_task(self._ticker()))
        if self.followups.settings.enabled:
            self._tasks.append(asyncio.create_task(self.followups.run(self._stop)))
        if self.results is not None:
            self._tasks.append(asyncio.create_task(self.results.run(self._stop)))
        if self.settings.storage.retention_interval_s > 0:
            self._tasks.append(asyncio.create_task(self._retention()))
        if self.runtime.journal is not None:
            self._tasks.append(asyncio.create_task(self._journal_pruning()))

    async def _ticker(self) -> None:
        refreshed = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.detection.tick_interval_s)
            if self._stop.is_set():
                return
            try:
                if time.monotonic() - refreshed >= PATIENT_FLAGS_REFRESH_S:
                    refreshed = time.monotonic()
                    await self.refresh_patient_flags()
                await self.pipeline.tick()
            except Exception:
                log.exception("timer tick failed")

    async def _snapshots(self, recovery: Recovery) -> None:
        """The detectors' state every `snapshot_interval_s`, and once more at shutdown."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.scale.snapshot_interval_s)
            try:
                await recovery.snapshot()
            except Exception:
                log.exception("detector snapshot failed")
            if self._stop.is_set():
                return

    async def _journal_pruning(self) -> None:
        """The journal keeps what the platform push or the results notices have yet to read."""
        journal = self.runtime.journal
        assert journal is not None
        followers = [
            stream
            for job, stream in ((self.platform, PUSH_STREAM), (self.results, RESULTS_STREAM))
            if job is not None
        ]
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), JOURNAL_PRUNE_S)
            if self._stop.is_set():
                return
            try:
                await journal.prune(self.stores.progress, followers, now=self.clock())
            except Exception:
                log.exception("reading journal pruning failed; will retry")

    async def _retention(self) -> None:
        from gateway.storage.retention import RetentionPolicy, run_retention

        s = self.settings
        policy = RetentionPolicy.of(
            ecg_days=s.storage.retention_ecg_days,
            vitals_days=s.storage.retention_vitals_days,
            status_days=s.storage.retention_status_days,
            deadletter_days=s.storage.retention_deadletter_days,
        )
        await run_retention(
            self.readings,
            self.stores.deadletters,
            policy,
            interval_s=s.storage.retention_interval_s,
            clock=self.clock,
            stop=self._stop,
        )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.sending is not None:  # the queued notifications go out before the link stops
            with contextlib.suppress(asyncio.CancelledError):
                await self.sending
            self.sending = None
        # Timer changes made since the last tick (a tier nobody could reach) are kept.
        await self.pipeline.record(DeskResult(timers=self.desk.pending()), client="gateway")
        if self.ingest is not None:
            await asyncio.to_thread(self.ingest.stop)
        await self.readings.close()
        await self.db.dispose()
