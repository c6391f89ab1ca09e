"""Service wiring in one place: storage, registry, detectors, pipeline, MQTT ingest, timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from alerts.desk import AlertDesk, DeskResult
from alerts.detectors import DetectorSettings
from alerts.engine import DetectionEngine
from alerts.model import Priority
from alerts.policy import EscalationPolicy
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.model import Reading, utcnow
from devices.registry import DeviceRegistry
from gateway.actions import ActionPath, Actions
from gateway.admin import Admin
from gateway.consult import Consultations
from gateway.fhir.push import PlatformPush
from gateway.followup.desk import FollowupDesk
from gateway.ingest import MqttIngest
from gateway.intake import Intake, emergency_callers, open_emergencies
from gateway.lanes import is_urgent
from gateway.metrics import Metrics
from gateway.notifiers import NotifierConfig, SseChannel, build_channels
from gateway.notifiers.outbox import OutboxSender, channel_failed, channel_keys
from gateway.notifiers.tiers import TierChannel
from gateway.pipeline import AlertSink, Pipeline
from gateway.policies import load_policies
from gateway.recovery import SNAPSHOT_FILE, Recovery
from gateway.results.desk import ResultsDesk
from gateway.settings import Settings
from gateway.storage import Database, OutboxEntry, ReadingStore, SqlReadingStore, Stores
from gateway.storage.readings import PositionedStore

log = logging.getLogger(__name__)


def make_reading_store(settings: Settings, db: Database) -> ReadingStore:
    """The configured readings backend (SQL by default, InfluxDB: see docs/storage.md)."""
    if settings.readings_backend == "sql":
        return SqlReadingStore(db)
    if settings.readings_backend == "influx":
        from gateway.storage.influx import InfluxConfig, InfluxReadingStore

        s = settings
        return InfluxReadingStore(
            InfluxConfig(
                url=s.influx_url,
                mode=s.influx_mode,
                database=s.influx_database,
                retention_policy=s.influx_retention_policy,
                username=s.influx_username,
                password=s.influx_password,
                token=s.influx_token,
                org=s.influx_org,
                bucket=s.influx_bucket,
                query_url=s.influx_query_url,
                batch_points=s.influx_batch_points,
                timeout_s=s.influx_timeout_s,
                create_database=s.influx_create_database,
            ),
            derive_beats=s.influx_derive_beats,
        )
    raise ValueError(f"readings backend {settings.readings_backend!r} is not available")


def detector_settings(settings: Settings) -> DetectorSettings:
    """Deployment-wide detector parameters from the service settings."""
    defaults = DetectorSettings()
    return DetectorSettings(
        bp_repeat_window=timedelta(seconds=settings.bp_repeat_window_s),
        cv_window=timedelta(seconds=settings.cv_window_s),
        cv_priorities={
            **defaults.cv_priorities,
            **{code: Priority(p) for code, p in settings.cv_priorities.items()},
        },
    )


# How often the patient context for escalation (lives alone, disability) is read again.
PATIENT_FLAGS_REFRESH_S = 60.0


class Gateway:
    """Owns every long-lived part of the running service; `start`/`stop` bracket its life."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        sinks: list[AlertSink] | None = None,
        policies: Mapping[str, EscalationPolicy] | None = None,
        notifiers: NotifierConfig | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.db = Database(settings.db_url)
        self.stores = Stores.of(self.db)
        self.readings = make_reading_store(settings, self.db)
        self.registry = DeviceRegistry(auto_bind=settings.auto_register or settings.mode == "demo")
        self.targets: dict[str, Targets] = {}
        self.metrics = Metrics()
        if policies is None:  # a policy file or a directory of per-tenant files
            policies = load_policies(settings.policies) if settings.policies else {}
        self.policies: Mapping[str, EscalationPolicy] = policies
        # A policy for tenant "*" serves every tenant without its own.
        self.desk = AlertDesk(policies, default_policy=policies.get("*"))
        self.engine = DetectionEngine(
            settings.detectors,
            self.targets_for,
            settings=detector_settings(settings),
            flags_for=self.desk.flags_of,
        )
        self.intake = Intake(
            self.registry,
            event_lookup=open_emergencies(self.desk.active),
            open_calls=emergency_callers(self.desk.active),
            late_after=timedelta(seconds=settings.late_after_s),
            future_skew=timedelta(seconds=settings.future_skew_s),
            max_payload=settings.max_payload_bytes,
            future_policy=settings.future_policy,
        )
        self.sse = SseChannel()
        self.admin = Admin(self.stores, self.registry, clock=clock, retarget=self.set_targets)
        channels = build_channels(
            notifiers or NotifierConfig.from_settings(settings), self._outbox, self.sse
        )
        # Every channel through the outbox, at least once: the broadcast channels (MQTT topic,
        # SSE, webhooks) and the escalation tier's people (e-mail, SMS).
        tier = TierChannel(
            channels,
            self.stores.rosters.roster,
            deliveries=self.stores.deliveries,
            on_tier_failure=self._tier_failed,
            clock=clock,
        )
        self.notifications = OutboxSender(
            self.stores.outbox,
            channel_keys([*channels, tier]),
            deliveries=self.stores.deliveries,
            on_failing=self._channel_failing,
            clock=clock,
        )
        # Extra listeners (demo console, tests); the pipeline stores every event with its
        # timers and notifications before it tells any of them.
        self.ingest: MqttIngest | None = None
        self.pipeline = Pipeline(
            self.intake,
            self.engine,
            self.desk,
            readings=self.readings,
            stores=self.stores,
            sinks=list(sinks or []),
            metrics=self.metrics,
            clock=clock,
            notifications=self.notifications,
            urgent=self._urgent,
        )
        # The API's action path (the scaled-out API role routes it to the partition owners).
        self.actions: ActionPath = Actions(
            desk=self.desk,
            stores=self.stores,
            readings=self.readings,
            notices=self.pipeline,
            clock=clock,
            view=self.sse,
        )
        self.consult = Consultations(self.stores, self.desk, self.pipeline, self.readings, clock)
        # The record's push to the regional platform (None unless HMG_PLATFORM_URL is set).
        self.platform: PlatformPush | None = PlatformPush.configured(self)
        self.followups = FollowupDesk(self)
        # Results notices to elders and families (on when SMS or e-mail is configured).
        self.results: ResultsDesk | None = ResultsDesk.configured(self, channels)
        self.recovery: Recovery | None = None
        if isinstance(self.readings, PositionedStore):
            self.recovery = Recovery(
                self.pipeline,
                self.readings,
                self.stores,
                settings.data_dir / SNAPSHOT_FILE,
                settings.snapshot_key,
                clock,
            )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self.sending: asyncio.Task[None] | None = None  # the outbox sender

    def _outbox(self) -> MqttIngest | None:
        return self.ingest

    def _tier_failed(self, alert_id: str) -> None:
        self.desk.expedite(alert_id, self.clock())

    def _channel_failing(self, entry: OutboxEntry, error: str) -> None:
        """A broadcast channel keeps failing for this alert: the next tier is told at the next
        tick, and a technical alert says which channel (not for that alert's own notices)."""
        self._tier_failed(entry.alert_id)
        raised = channel_failed(entry, error, self.clock())
        if raised is not None:
            task = asyncio.get_running_loop().create_task(self.pipeline.raise_now(*raised))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def refresh_patient_flags(self) -> None:
        """Patient context for escalation and detectors (lives_alone, disability) from the
        patient records; detectors of patients whose context changed take it at once."""
        before = {pid: self.desk.flags_of(pid) for pid in self.engine.patients()}
        self.desk.replace_flags(
            {p.patient_id: p.flags for p in await self.stores.patients.patients()}
        )
        for pid, flags in before.items():
            if self.desk.flags_of(pid) != flags:
                self.engine.retarget(pid)

    def _urgent(self, r: Reading) -> bool:
        """Urgent at the patient's own limits (see `gateway.lanes`)."""
        return is_urgent(r, self.targets_for(r.patient_id or ""))

    def targets_for(self, patient_id: str) -> Targets:
        return self.targets.get(patient_id, DEFAULT_TARGETS)

    async def set_targets(self, patient_id: str, targets: Targets) -> None:
        self.targets[patient_id] = targets
        self.engine.retarget(patient_id)  # keeps open episodes so they still resolve

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
                self.targets[p.patient_id] = DEFAULT_TARGETS.with_overrides(p.targets)
        active = await self.stores.alerts.active()  # with their assignees
        await self.refresh_patient_flags()
        await self.consult.load()  # the centres' escalation policies, before their timers
        # Alerts whose timer was lost get one (missed deadlines fire at the first tick).
        rearmed = self.desk.load(active, await self.stores.timers.load())
        if not (mqtt and detection):  # only the gateway that runs the MQTT link publishes alerts
            self.notifications.channels.pop("mqtt", None)
        # With what a previous run left undelivered (every role sends what it stores).
        self.sending = asyncio.create_task(self.notifications.run(self._stop))
        if self.platform is not None:
            self._tasks.append(asyncio.create_task(self.platform.run(self._stop)))
        if not detection:
            return  # the partitions' owners keep the timers (a worker re-arms what it takes)
        await self.stores.timers.save(rearmed.saved, rearmed.deleted)
        if self.recovery is not None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            await self.recovery.resume()
            self._tasks.append(asyncio.create_task(self._snapshots(self.recovery)))
        if mqtt:
            s = self.settings
            self.ingest = MqttIngest(
                s.mqtt_host,
                s.mqtt_port,
                client_id=s.mqtt_client_id,
                subscription=s.mqtt_subscription,
                username=s.mqtt_username,
                password=s.mqtt_password,
                protocol=s.mqtt_protocol,
                keepalive=s.mqtt_keepalive,
                queue_max=s.queue_max,
                batch_max=s.batch_max,
                batch_linger_s=s.batch_linger_ms / 1000.0,
                clock=self.clock,
                tls=s.mqtt_tls,
                tls_ca_file=str(s.mqtt_tls_ca_file) if s.mqtt_tls_ca_file else None,
                tls_cert_file=str(s.mqtt_tls_cert_file) if s.mqtt_tls_cert_file else None,
                tls_key_file=str(s.mqtt_tls_key_file) if s.mqtt_tls_key_file else None,
            )
            self.pipeline.outbox = self.ingest
            self.ingest.start()
            self._tasks.append(asyncio.create_task(self.ingest.run(self.pipeline, self._stop)))
        self._tasks.append(asyncio.create_task(self._ticker()))
        if self.followups.settings.enabled:
            self._tasks.append(asyncio.create_task(self.followups.run(self._stop)))
        if self.results is not None:
            self._tasks.append(asyncio.create_task(self.results.run(self._stop)))
        if self.settings.retention_interval_s > 0:
            self._tasks.append(asyncio.create_task(self._retention()))

    async def _ticker(self) -> None:
        refreshed = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.tick_interval_s)
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
                await asyncio.wait_for(self._stop.wait(), self.settings.snapshot_interval_s)
            try:
                await recovery.snapshot()
            except Exception:
                log.exception("detector snapshot failed")
            if self._stop.is_set():
                return

    async def _retention(self) -> None:
        from gateway.storage.retention import RetentionPolicy, run_retention

        s = self.settings
        policy = RetentionPolicy.of(
            ecg_days=s.retention_ecg_days,
            vitals_days=s.retention_vitals_days,
            status_days=s.retention_status_days,
            deadletter_days=s.retention_deadletter_days,
        )
        await run_retention(
            self.readings,
            self.stores.deadletters,
            policy,
            interval_s=s.retention_interval_s,
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
