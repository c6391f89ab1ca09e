"""Service wiring in one place: storage, registry, detectors, pipeline, MQTT ingest, timers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from alerts.detectors import DetectorSettings
from alerts.engine import DetectionEngine
from alerts.escalation import Escalator
from alerts.lifecycle import AlertBook
from alerts.model import Alert, Priority
from alerts.policy import EscalationPolicy
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.model import utcnow
from devices.registry import DeviceRegistry
from gateway.admin import Admin
from gateway.escalation import EscalatingProcessor, TimerPersistence
from gateway.ingest import MqttIngest
from gateway.notifiers import Dispatcher, NotifierConfig, SseChannel, build_channels
from gateway.pipeline import AlertSink, Pipeline
from gateway.policies import load_policies
from gateway.settings import Settings
from gateway.storage import Database, ReadingStore, SqlReadingStore, Stores

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


# Young-generation threshold of the cyclic garbage collector while serving. Ingest allocates a
# few dozen short-lived objects per message (payload dicts, readings, rows), so the default of 700
# runs a collection every few dozen messages; at 20,000 the gateway spent about 10 % less CPU per
# message in `make bench-ingest`, and memory stays bounded (collections still run, less often).
GC_GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Garbage-collector settings for a long-running service: state loaded at start (registry,
    alert books, timers, modules) lives as long as the process, so it is frozen out of the
    collector's scans (after a last full collection, so no garbage is frozen with it), and young
    objects are collected less often."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GC_GEN0_THRESHOLD, gen0), gen1, gen2)


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
        self.engine = DetectionEngine(
            settings.detectors, self.targets_for, settings=detector_settings(settings)
        )
        if policies is None:  # a policy file or a directory of per-tenant files
            policies = load_policies(settings.policies) if settings.policies else {}
        # A policy for tenant "*" serves every tenant without its own.
        self.escalator = Escalator(policies, default=policies.get("*"))
        self.processor = EscalatingProcessor(
            self.registry,
            self.engine,
            late_after=timedelta(seconds=settings.late_after_s),
            future_skew=timedelta(seconds=settings.future_skew_s),
            max_payload=settings.max_payload_bytes,
            future_policy=settings.future_policy,
            escalator=self.escalator,
        )
        self.sse = SseChannel()
        self.admin = Admin(self.stores, self.registry, clock=clock, retarget=self.set_targets)
        self.timers = TimerPersistence(self.escalator, self.stores.timers)
        self.dispatcher = Dispatcher(
            build_channels(
                notifiers or NotifierConfig.from_settings(settings), self._outbox, self.sse
            ),
            roster_for=self.stores.rosters.roster,
            deliveries=self.stores.deliveries,
            on_tier_failure=self._tier_failed,
            clock=clock,
        )
        # Timers are saved before anyone is told; user sinks (demo console, tests) come last.
        self.sinks: list[AlertSink] = [self.timers, self.dispatcher, *(sinks or [])]
        self.ingest: MqttIngest | None = None
        self.pipeline = Pipeline(
            self.processor, self.readings, self.stores, sinks=self.sinks, clock=clock
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _outbox(self) -> MqttIngest | None:
        return self.ingest

    def _tier_failed(self, alert_id: str) -> None:
        self.escalator.expedite(alert_id, self.clock())

    async def refresh_patient_flags(self) -> None:
        """Patient context for escalation (lives_alone, disability) from the patient records."""
        self.processor.patient_flags = {
            p.patient_id: p.flags for p in await self.stores.patients.patients()
        }

    def targets_for(self, patient_id: str) -> Targets:
        return self.targets.get(patient_id, DEFAULT_TARGETS)

    async def set_targets(self, patient_id: str, targets: Targets) -> None:
        self.targets[patient_id] = targets
        self.engine.retarget(patient_id)  # keeps open episodes so they still resolve

    async def start(self, *, mqtt: bool = True) -> None:
        await self.db.create_schema()
        for dev in await self.stores.patients.devices():
            self.registry.put(dev)
        for p in await self.stores.patients.patients():
            if p.targets:
                self.targets[p.patient_id] = DEFAULT_TARGETS.with_overrides(p.targets)
        by_tenant: dict[str, list[Alert]] = {}
        active = await self.stores.alerts.active()  # with their assignees
        for a in active:
            by_tenant.setdefault(a.tenant, []).append(a)
        self.processor.books = {t: AlertBook(t, alerts) for t, alerts in by_tenant.items()}
        await self.refresh_patient_flags()
        self.escalator.restore(await self.stores.timers.load())
        self.processor.rearm(active)  # alerts whose timer was lost get one; missed ones fire
        await self.timers.flush()
        tune_gc()
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
        if self.settings.retention_interval_s > 0:
            self._tasks.append(asyncio.create_task(self._retention()))

    async def _ticker(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.tick_interval_s)
            if self._stop.is_set():
                return
            try:
                ticks += 1
                if ticks % 12 == 0:
                    await self.refresh_patient_flags()
                await self.pipeline.tick()
                await self.timers.flush()
            except Exception:
                log.exception("timer tick failed")

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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.dispatcher.drain(), 10.0)
        with contextlib.suppress(Exception):
            await self.timers.flush()
        if self.ingest is not None:
            await asyncio.to_thread(self.ingest.stop)
        await self.readings.close()
        await self.db.dispose()
