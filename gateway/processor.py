"""The synchronous heart of the pipeline: decode -> resolve -> flag, and detect -> lifecycle.

Shared by the live gateway (wrapped with storage and MQTT in `gateway.pipeline`) and by
`hmg replay` (no broker, no storage), so both follow exactly the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.detectors.device import StaleWatch
from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import AlertCandidate, AlertEvent
from devices.codecs import decode_payload
from devices.continuity import ContinuityTracker
from devices.errors import DecodeError, RejectReason
from devices.model import Reading, Topic
from devices.registry import Device, DeviceRegistry


@dataclass(frozen=True, slots=True)
class Inbound:
    """One MQTT message as received; `mid`/`qos`/`conn` identify it for the acknowledgement.

    `conn` is the ingest's connection generation: a message is acknowledged only on the
    connection that delivered it (after a reconnect the broker redelivers it instead).
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    conn: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    tenant: str
    topic: str
    reason: RejectReason
    detail: str
    payload: bytes
    received_at: datetime


@dataclass(slots=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    new_devices: list[Device] = field(default_factory=list)


def _tenant_of(topic: str) -> str:
    parts = topic.split("/")
    return parts[2] if len(parts) > 2 and parts[0] == "hm" and parts[2] else "unknown"


KIOSK_TOPIC_KIND = "kiosk"


class Processor:
    """Stateful but I/O-free. `replay=True` runs on the readings' own clock.

    `future_policy` says what happens to a reading stamped further in the future than
    `future_skew`: ``reject`` (dead-letter with reason ``timestamp``) or ``flag`` (store it with the
    ``clock_skew`` flag). ECG chunk continuity is tracked per device (`continuity`).
    """

    def __init__(
        self,
        registry: DeviceRegistry,
        engine: DetectionEngine,
        *,
        late_after: timedelta = timedelta(minutes=10),
        future_skew: timedelta = timedelta(minutes=5),
        max_payload: int = 512 * 1024,
        replay: bool = False,
        active_alerts: Iterable[AlertBook] = (),
        future_policy: str = "reject",
    ) -> None:
        if future_policy not in ("reject", "flag"):
            raise ValueError(f"future_policy must be 'reject' or 'flag', not {future_policy!r}")
        self.registry = registry
        self.engine = engine
        self.late_after = late_after
        self.future_skew = future_skew
        self.max_payload = max_payload
        self.replay = replay
        self.future_policy = future_policy
        self.books: dict[str, AlertBook] = {b.tenant: b for b in active_alerts}
        self.replay_clock: datetime | None = None
        self.continuity = ContinuityTracker()
        # device.stale runs on the server clock (the replay clock in a replay).
        self.stale = StaleWatch()
        self._tenants: dict[str, str] = {}

    def book(self, tenant: str) -> AlertBook:
        book = self.books.get(tenant)
        if book is None:
            book = self.books[tenant] = AlertBook(tenant)
        return book

    # -- decode ---------------------------------------------------------------------------
    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        out = Decoded()
        for msg in batch:
            try:
                topic = Topic.parse(msg.topic)
                if topic.kind == KIOSK_TOPIC_KIND:
                    self._require_kiosk(topic, out)
                readings = decode_payload(topic, msg.payload, msg.received_at, self.max_payload)
                resolved = [self._resolve(r, out) for r in readings]
            except DecodeError as exc:
                out.rejected.append(
                    Rejected(
                        _tenant_of(msg.topic),
                        msg.topic,
                        exc.reason,
                        exc.detail,
                        msg.payload,
                        msg.received_at,
                    )
                )
                continue
            if topic.kind == "ecg":
                resolved = [self.continuity.check(r) for r in resolved]
            out.readings.extend(resolved)
        return out

    def _require_kiosk(self, topic: Topic, out: Decoded) -> None:
        """The kiosk batch format is accepted only from devices registered as kiosks."""
        dev = self.registry.get(topic.device_id)
        if dev is None and self.registry.auto_bind:
            dev = Device(topic.device_id, topic.tenant, KIOSK_TOPIC_KIND, kiosk=True)
            self.registry.put(dev)
            out.new_devices.append(dev)
        if dev is None:
            raise DecodeError(RejectReason.UNKNOWN_DEVICE, f"device {topic.device_id!r}")
        if not dev.kiosk:
            raise DecodeError(
                RejectReason.NOT_KIOSK,
                f"kiosk batch from {topic.device_id!r}, which is not registered as a kiosk",
            )

    def _resolve(self, reading: Reading, out: Decoded) -> Reading:
        registry = self.registry
        known = reading.device_id in registry
        resolved = registry.resolve(reading)
        if not known:
            dev = registry.get(reading.device_id)
            if dev is not None:
                out.new_devices.append(dev)
        if self.replay:
            clock = self.replay_clock
            if clock is None or resolved.ts > clock:
                self.replay_clock = clock = resolved.ts
            if clock - resolved.ts > self.late_after:
                return resolved.evolve(resolved.patient_id, resolved.flags | {"late"})
            return resolved
        ahead = resolved.ts - resolved.received_at
        if ahead > self.future_skew:
            if self.future_policy == "reject":
                raise DecodeError(
                    RejectReason.TIMESTAMP,
                    f"ts {resolved.ts.isoformat()} is ahead of the gateway clock by more than "
                    f"{self.future_skew.total_seconds():.0f} s",
                )
            return resolved.evolve(resolved.patient_id, resolved.flags | {"clock_skew"})
        if -ahead > self.late_after:
            return resolved.evolve(resolved.patient_id, resolved.flags | {"late"})
        return resolved

    def _is_kiosk(self, device_id: str) -> bool:
        dev = self.registry.get(device_id)
        return dev is not None and dev.kiosk

    # -- detect ---------------------------------------------------------------------------
    def detect(self, readings: Sequence[Reading], now: datetime | None = None) -> list[AlertEvent]:
        """Run detectors over newly stored readings and apply candidates to the alert books.

        `now` is the event time: the replay clock in replay mode, the gateway clock live.
        """
        events: list[AlertEvent] = []
        for r in readings:
            if r.patient_id is not None:
                self._tenants[r.patient_id] = r.tenant
            at = (self.replay_clock or r.ts) if self.replay else (now or r.received_at)
            candidates = self.engine.process(r)
            if not self._is_kiosk(r.device_id):
                cleared = self.stale.seen(r, at if self.replay else None)
                if cleared:
                    candidates = [*candidates, *cleared]
            if candidates:  # most readings raise nothing
                events.extend(self.apply(candidates, r.tenant, at))
        return events

    def apply(
        self, candidates: Iterable[AlertCandidate], tenant: str, now: datetime
    ) -> list[AlertEvent]:
        book = self.book(tenant)
        events = []
        for c in candidates:
            ev = book.apply(c, now)
            if ev is not None:
                events.append(ev)
        return events

    def next_due(self) -> datetime | None:
        """When the next timer (device staleness) is due; a replay fires it at that time."""
        return self.stale.next_due()

    def tick(self, now: datetime) -> list[AlertEvent]:
        """Timers: detector timeouts on the given clock (escalation hooks in here too)."""
        events: list[AlertEvent] = []
        for c in [*self.engine.tick(now), *self.stale.tick(now)]:
            tenant = self._tenants.get(c.patient_id, "default")
            events.extend(self.apply([c], tenant, now))
        return events
