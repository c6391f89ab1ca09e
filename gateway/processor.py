"""The synchronous heart of the pipeline: decode -> resolve -> flag, and detect -> lifecycle.

Shared by the live gateway (wrapped with storage and MQTT in `gateway.pipeline`) and by
`hmg replay` (no broker, no storage), so both follow exactly the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import AlertCandidate, AlertEvent
from devices.codecs import decode_payload
from devices.errors import DecodeError, RejectReason
from devices.model import Reading, Topic
from devices.registry import Device, DeviceRegistry


@dataclass(frozen=True, slots=True)
class Inbound:
    """One MQTT message as received; `mid`/`qos` identify it for the acknowledgement."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0


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


class Processor:
    """Stateful but I/O-free. `replay=True` runs on the readings' own clock."""

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
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.late_after = late_after
        self.future_skew = future_skew
        self.max_payload = max_payload
        self.replay = replay
        self.books: dict[str, AlertBook] = {b.tenant: b for b in active_alerts}
        self.replay_clock: datetime | None = None
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
            out.readings.extend(resolved)
        return out

    def _resolve(self, reading: Reading, out: Decoded) -> Reading:
        known = reading.device_id in self.registry
        resolved = self.registry.resolve(reading)
        if not known:
            dev = self.registry.get(reading.device_id)
            if dev is not None:
                out.new_devices.append(dev)
        if self.replay:
            clock = self.replay_clock
            if clock is None or resolved.ts > clock:
                self.replay_clock = clock = resolved.ts
            if clock - resolved.ts > self.late_after:
                return replace(resolved, flags=resolved.flags | {"late"})
            return resolved
        if resolved.ts - resolved.received_at > self.future_skew:
            raise DecodeError(
                RejectReason.TIMESTAMP,
                f"ts {resolved.ts.isoformat()} is ahead of the gateway clock by more than "
                f"{self.future_skew.total_seconds():.0f} s",
            )
        if resolved.received_at - resolved.ts > self.late_after:
            return replace(resolved, flags=resolved.flags | {"late"})
        return resolved

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
            events.extend(self.apply(self.engine.process(r), r.tenant, at))
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

    def tick(self, now: datetime) -> list[AlertEvent]:
        """Timers: detector timeouts on the given clock (escalation hooks in here too)."""
        events: list[AlertEvent] = []
        for c in self.engine.tick(now):
            tenant = self._tenants.get(c.patient_id, "default")
            events.extend(self.apply([c], tenant, now))
        return events
