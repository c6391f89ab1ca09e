"""The composition root: the one place that builds the gateway's parts and wires them together.

`build(settings, role)` gives a `Runtime`: storage, registry, care-team targets, the detection
unit (intake -> engine -> desk -> pipeline), the notification outbox (broadcast channels and
the escalation tiers' people), the clinicians' action path, ECG consultations, the detector
recovery and the jobs beside detection (platform push, follow-ups, results notices:
`gateway.runtime.services`). The single gateway (`gateway.runtime.service.Gateway`), the API
app, the demo, the scaled-out roles and their workers' partitions (`Runtime.partition`) and
`hmg replay` (`replay_pipeline`) all take their parts from here, so a detection unit is wired
the same way wherever it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.desk import AlertDesk
from alerts.detectors import DEFAULT_SETTINGS, DetectorSettings
from alerts.engine import DetectionEngine
from alerts.model import Priority
from alerts.policy import EscalationPolicy
from alerts.targets import Targets
from devices.model import PatientKey, utcnow
from devices.registry import DeviceRegistry
from gateway.admin import Admin
from gateway.consult import Consultations
from gateway.fhir.push import PlatformPush
from gateway.flow.actions import ActionPath, Actions
from gateway.flow.intake import Intake, ReplayClock, emergency_callers, open_emergencies
from gateway.flow.pipeline import Pipeline
from gateway.flow.recovery import SNAPSHOT_FILE, Recovery
from gateway.followup.desk import FollowupDesk
from gateway.link.ingest import MqttIngest
from gateway.metrics import Metrics
from gateway.notifiers import Channel, NotifierConfig, SseChannel, build_channels
from gateway.notifiers.base import AlertSink
from gateway.notifiers.failing import channel_failed
from gateway.notifiers.outbox import OutboxSender, channel_keys
from gateway.notifiers.tiers import TierChannel
from gateway.policies import load_policies
from gateway.results.desk import ResultsDesk
from gateway.runtime.jobs import JobParts
from gateway.runtime.services import build_services
from gateway.runtime.settings import Settings
from gateway.runtime.targets import TargetBook
from gateway.storage import Database, OutboxEntry, ReadingStore, SqlReadingStore, Stores
from gateway.storage.journal import JournalledStore, ReadingJournal
from gateway.storage.readings import PositionedStore, ReadingFeed


class Role(enum.StrEnum):
    """What a process does (`hmg gateway --role`): the single gateway does everything."""

    GATEWAY = "gateway"  # MQTT ingest, detection, timers, API
    ROUTER = "router"  # device stream -> stored readings -> partition streams
    WORKER = "worker"  # detection, timers and actions of owned partitions
    API = "api"  # API and page over the stores; actions routed to the partitions' owners

    @property
    def detects(self) -> bool:
        return self is Role.GATEWAY


def make_reading_store(settings: Settings, db: Database) -> ReadingStore:
    """The configured readings backend (SQL by default, InfluxDB: see docs/storage.md)."""
    if settings.storage.readings_backend == "sql":
        return SqlReadingStore(db)
    if settings.storage.readings_backend == "influx":
        from gateway.storage.influx import InfluxReadingStore

        return InfluxReadingStore(settings.influx, derive_beats=settings.influx.derive_beats)
    raise ValueError(f"readings backend {settings.storage.readings_backend!r} is not available")


def detector_settings(settings: Settings) -> DetectorSettings:
    """Deployment-wide detector parameters from the service settings."""
    defaults = DetectorSettings()
    return DetectorSettings(
        bp_repeat_window=timedelta(seconds=settings.detection.bp_repeat_window_s),
        cv_window=timedelta(seconds=settings.detection.cv_window_s),
        cv_priorities={
            **defaults.cv_priorities,
            **{code: Priority(p) for code, p in settings.detection.cv_priorities.items()},
        },
    )


def make_desk(policies: Mapping[str, EscalationPolicy]) -> AlertDesk:
    """A policy for tenant "*" serves every tenant without its own."""
    return AlertDesk(policies, default_policy=policies.get("*"))


def make_engine(
    detectors: Iterable[str] | None,
    desk: AlertDesk,
    targets_for: Callable[[PatientKey], Targets] | None = None,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> DetectionEngine:
    """Detectors that see each patient's targets and care context (the desk's flags)."""
    return DetectionEngine(detectors, targets_for, settings=settings, flags_for=desk.flags_of)


@dataclass(frozen=True, slots=True)
class Partition:
    """One detection unit of a scaled-out worker: a patient partition's own detectors, desk,
    pipeline and action path over the runtime's intake and stores."""

    engine: DetectionEngine
    desk: AlertDesk
    pipeline: Pipeline
    actions: Actions


@dataclass(slots=True)
class Runtime:
    """Every long-lived part of one process (see `build`); `gateway.runtime.service.Gateway` runs
    it."""

    settings: Settings
    role: Role
    clock: Callable[[], datetime]
    db: Database
    stores: Stores
    readings: ReadingStore
    feed: ReadingFeed  # the stored readings in storing order (the SQL store or the journal)
    journal: ReadingJournal | None  # kept for a backend that does not number its readings
    registry: DeviceRegistry
    book: TargetBook
    metrics: Metrics
    policies: Mapping[str, EscalationPolicy]
    desk: AlertDesk
    engine: DetectionEngine
    intake: Intake
    sse: SseChannel
    admin: Admin
    channels: list[Channel]  # every notification channel but the tiers' (`build_channels`)
    notifications: OutboxSender
    pipeline: Pipeline
    actions: ActionPath
    consult: Consultations
    recovery: Recovery | None
    platform: PlatformPush | None  # the record's push to the regional platform (None when off)
    followups: FollowupDesk
    results: ResultsDesk | None  # results notices to elders and families (None when off)
    ingest: MqttIngest | None = None  # the MQTT link, once the single gateway starts it
    background: set[asyncio.Task[None]] = field(default_factory=set)
    units: list[Partition] = field(default_factory=list)  # a worker's partitions, while held

    def partition(self) -> Partition:
        """A worker partition's unit, wired like the single gateway's own (`drop` it when the
        partition is handed over)."""
        desk = make_desk(self.policies)
        engine = make_engine(
            self.settings.detection.detectors, desk, self.book.targets_for, self.engine.settings
        )
        pipeline = self._pipeline(engine, desk, self.notifications)
        actions = Actions(
            desk=desk,
            stores=self.stores,
            readings=self.readings,
            outbox=self.notifications,
            clock=self.clock,
        )
        unit = Partition(engine, desk, pipeline, actions)
        self.units.append(unit)
        return unit

    def drop(self, unit: Partition) -> None:
        with contextlib.suppress(ValueError):
            self.units.remove(unit)

    def owner(self, alert_id: str) -> tuple[AlertDesk, Pipeline]:
        """The desk that keeps the alert's timers, and its pipeline: a worker partition's when
        one holds the alert, else the process's own."""
        for unit in self.units:
            if unit.desk.find(alert_id) is not None:
                return unit.desk, unit.pipeline
        return self.desk, self.pipeline

    def _pipeline(
        self, engine: DetectionEngine, desk: AlertDesk, notifications: OutboxSender | None = None
    ) -> Pipeline:
        return Pipeline(
            self.intake,
            engine,
            desk,
            readings=self.readings,
            stores=self.stores,
            metrics=self.metrics,
            clock=self.clock,
            outbox=notifications,
        )


def build(
    settings: Settings,
    role: Role = Role.GATEWAY,
    *,
    clock: Callable[[], datetime] = utcnow,
    sinks: Sequence[AlertSink] = (),
    policies: Mapping[str, EscalationPolicy] | None = None,
    notifiers: NotifierConfig | None = None,
) -> Runtime:
    """Every part of a process in `role`, wired. `sinks` are extra listeners told each stored
    alert event after it is stored (the demo console, tests); `policies` and `notifiers`
    replace what the settings name."""
    db = Database(settings.storage.db_url)
    stores = Stores.of(db)
    readings = make_reading_store(settings, db)
    journal = None
    feed: ReadingFeed
    if isinstance(readings, PositionedStore):
        feed = readings
    else:  # InfluxDB: what arrives is numbered in the relational database's journal
        feed = journal = ReadingJournal(db)
        readings = JournalledStore(readings, journal)
    registry = DeviceRegistry(auto_bind=settings.ingest.auto_register or settings.mode == "demo")
    if policies is None:  # a policy file or a directory of per-tenant files
        policies = load_policies(settings.notify.policies) if settings.notify.policies else {}
    book = TargetBook()
    desk = make_desk(policies)
    engine = make_engine(
        settings.detection.detectors, desk, book.targets_for, detector_settings(settings)
    )
    book.engines.append(engine)
    intake = Intake(
        registry,
        event_lookup=open_emergencies(desk.active),
        open_calls=emergency_callers(desk.active),
        late_after=timedelta(seconds=settings.ingest.late_after_s),
        future_skew=timedelta(seconds=settings.ingest.future_skew_s),
        max_payload=settings.ingest.max_payload_bytes,
        future_policy=settings.ingest.future_policy,
    )
    sse = SseChannel()
    background: set[asyncio.Task[None]] = set()

    # Late-bound: the link exists once the single gateway starts it, the pipeline further down.
    def outbox() -> MqttIngest | None:
        return runtime.ingest

    def tier_failed(alert_id: str) -> None:
        """Nobody of the tier was reached: the desk that holds the alert (a worker partition's
        when scaled out) tells the next tier at its next tick."""
        runtime.owner(alert_id)[0].expedite(alert_id, clock())

    def channel_failing(entry: OutboxEntry, error: str) -> None:
        """A broadcast channel keeps failing for this alert: the next tier is told, and a
        technical alert says which channel (not for that alert's own notices)."""
        tier_failed(entry.alert_id)
        raised = channel_failed(entry, error, clock())
        if raised is not None:
            owner = runtime.owner(entry.alert_id)[1]
            task = asyncio.get_running_loop().create_task(owner.raise_now(*raised))
            background.add(task)
            task.add_done_callback(background.discard)

    channels = build_channels(notifiers or NotifierConfig.from_settings(settings), outbox, sse)
    # Every channel through the outbox, at least once: the broadcast channels (MQTT topic,
    # SSE, webhooks) and the escalation tier's people (e-mail, SMS).
    tier = TierChannel(
        channels,
        stores.rosters.roster,
        deliveries=stores.deliveries,
        on_tier_failure=tier_failed,
        clock=clock,
    )
    notifications = OutboxSender(
        stores.outbox,
        channel_keys([*channels, tier]),
        records=stores.records,
        log_deliveries=True,
        on_failing=channel_failing,
        sinks=sinks,
        clock=clock,
    )
    pipeline = Pipeline(
        intake,
        engine,
        desk,
        readings=readings,
        stores=stores,
        metrics=Metrics(),
        clock=clock,
        outbox=notifications,
    )
    recovery = None
    if isinstance(readings, PositionedStore):
        recovery = Recovery(
            pipeline,
            readings,
            stores,
            settings.storage.data_dir / SNAPSHOT_FILE,
            settings.snapshot_key,
            clock,
        )
    services = build_services(
        JobParts(
            stores=stores,
            readings=readings,
            feed=feed,
            registry=registry,
            targets_for=book.targets_for,
            clock=clock,
            raise_now=pipeline.raise_now,
            personal=channels,
        )
    )
    runtime = Runtime(
        settings=settings,
        role=role,
        clock=clock,
        db=db,
        stores=stores,
        readings=readings,
        feed=feed,
        journal=journal,
        registry=registry,
        book=book,
        metrics=pipeline.metrics,
        policies=policies,
        desk=desk,
        engine=engine,
        intake=intake,
        sse=sse,
        admin=Admin(stores, registry, clock=clock, retarget=book.set_targets),
        channels=channels,
        notifications=notifications,
        pipeline=pipeline,
        # The API's action path (the scaled-out API role routes it to the partition owners).
        actions=Actions(
            desk=desk,
            stores=stores,
            readings=readings,
            outbox=notifications,
            clock=clock,
            view=sse,
        ),
        consult=Consultations(stores, desk, notifications, readings, clock),
        recovery=recovery,
        platform=services.platform,
        followups=services.followups,
        results=services.results,
        background=background,
    )
    return runtime


class ReplayDesk(AlertDesk):
    """The replay's desk: a `patient` line without a tenant sets the context of that patient id
    in every tenant (a replay file rarely mixes tenants; one that does names them)."""

    def __init__(
        self, policies: Mapping[str, EscalationPolicy], *, default_policy: EscalationPolicy | None
    ) -> None:
        super().__init__(policies, default_policy=default_policy)
        self.any_tenant: dict[str, frozenset[str]] = {}

    def flags_of(self, patient: PatientKey) -> frozenset[str]:
        return super().flags_of(patient) or self.any_tenant.get(patient.patient_id, frozenset())


def replay_pipeline(
    late_after_s: float = 600.0,
    detectors: list[str] | None = None,
    policies: Iterable[EscalationPolicy] = (),
) -> Pipeline:
    """`hmg replay`'s detection unit: no storage, auto-bound devices, the replay clock; with
    policies, escalation timers run on that clock. A single policy also serves tenants it does
    not name (a replay file rarely mixes tenants)."""
    by_tenant = {p.tenant: p for p in policies}
    default = next(iter(by_tenant.values())) if len(by_tenant) == 1 else None
    clock = ReplayClock()
    desk = ReplayDesk(by_tenant, default_policy=default)
    intake = Intake(
        DeviceRegistry(auto_bind=True),
        late_after=timedelta(seconds=late_after_s),
        replay_clock=clock,
        event_lookup=open_emergencies(desk.active),
        open_calls=emergency_callers(desk.active),
    )
    return Pipeline(intake, make_engine(detectors, desk), desk, clock=clock)
