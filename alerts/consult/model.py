"""Remote ECG consultation values: priorities, centres, requests and the cardiologist's report.

A tenant's family doctor asks a cardiology centre to read an ECG window; the centre's
cardiologists see the requests of every tenant that sends to them, claim one (a lease the others
see), and sign a report, which may later be amended (the earlier versions are kept). Values are
frozen; the transitions are in `alerts.consult.worklist`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from alerts.model import Priority


class ConsultPriority(enum.StrEnum):
    """FHIR request priorities (`ServiceRequest.priority`), most pressing first."""

    STAT = "stat"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK: Final = {ConsultPriority.ROUTINE: 1, ConsultPriority.URGENT: 2, ConsultPriority.STAT: 3}
# The alert priority the centre's escalation runs at, per request priority.
ALERT_PRIORITY: Final = MappingProxyType(
    {
        ConsultPriority.STAT: Priority.HIGH,
        ConsultPriority.URGENT: Priority.MEDIUM,
        ConsultPriority.ROUTINE: Priority.LOW,
    }
)
# Defaults of a centre's policy: a STEMI-grade answer in 10 min, the rest within the hour or day.
DEFAULT_DEADLINES: Final = MappingProxyType(
    {
        ConsultPriority.STAT: timedelta(minutes=10),
        ConsultPriority.URGENT: timedelta(minutes=60),
        ConsultPriority.ROUTINE: timedelta(hours=24),
    }
)
_DEFAULTS: Final = DEFAULT_DEADLINES
DEFAULT_LEASE: Final = timedelta(minutes=30)
MAX_WINDOW: Final = timedelta(minutes=10)


class Status(enum.StrEnum):
    """requested -> claimed -> final (-> amended); a claim may be released back to requested."""

    REQUESTED = "requested"
    CLAIMED = "claimed"
    FINAL = "final"
    AMENDED = "amended"

    @property
    def reported(self) -> bool:
        return self in (Status.FINAL, Status.AMENDED)


class ConsultError(ValueError):
    """A consultation step that does not apply (`reason` says why); the API answers 409."""

    def __init__(self, request_id: str, reason: str) -> None:
        super().__init__(f"{request_id}: {reason}")
        self.request_id = request_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Centre:
    """A cardiology reading centre: its cardiologists in roster order (the first is told first,
    the next one when a deadline passes), its lead (last tier), the tenants that send to it, and
    its answer deadline per priority. `centre_id` is the centre's own tenant in tokens."""

    centre_id: str
    name: str
    cardiologists: tuple[str, ...]
    lead: str
    senders: frozenset[str]
    deadlines: Mapping[ConsultPriority, timedelta] = field(default_factory=lambda: _DEFAULTS)
    lease: timedelta = DEFAULT_LEASE

    def __post_init__(self) -> None:
        if not self.centre_id or not self.name:
            raise ValueError("a centre needs an id and a name")
        if not self.cardiologists or not self.lead:
            raise ValueError("a centre needs at least one cardiologist and a lead")
        for p in ConsultPriority:
            if self.deadlines.get(p, timedelta(0)) <= timedelta(0):
                raise ValueError(f"deadline for {p.value} must be positive")
        if self.lease <= timedelta(0):
            raise ValueError("the claim lease must be positive")

    def deadline(self, priority: ConsultPriority) -> timedelta:
        return self.deadlines[priority]


@dataclass(frozen=True, slots=True)
class EcgWindow:
    """The ECG attached to a request, frozen when asked: millivolts at `fs` from `start`, the
    streaming analyser's beats (sample indices), beat labels (N/V/F/Q, may be empty) and
    episodes (`label`, `start`, `end` in samples)."""

    device_id: str
    lead: str
    fs: float
    start: datetime
    samples: tuple[float, ...]
    beats: tuple[int, ...]
    labels: tuple[str, ...] = ()
    episodes: tuple[Mapping[str, Any], ...] = ()
    heart_rate: float | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("ECG window start must be timezone-aware")
        if self.fs <= 0:
            raise ValueError("sampling rate must be positive")

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.fs

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def rr_ms(self) -> list[float]:
        """The analyser's RR intervals in milliseconds."""
        return [
            (b - a) * 1000.0 / self.fs for a, b in zip(self.beats, self.beats[1:], strict=False)
        ]


MEASURES: Final = ("RR", "PR", "QRS", "QT", "QTc")


@dataclass(frozen=True, slots=True)
class Report:
    """One signed version of the cardiologist's reading. `findings` are codes of
    `alerts.consult.findings.FINDINGS`; `measurements` are caliper values in ms by name (RR, PR,
    QRS, QT, QTc); `critical` asks the requester to confirm receipt (read-back)."""

    version: int
    findings: tuple[str, ...]
    text: str
    measurements: Mapping[str, float]
    critical: bool
    signed_by: str
    signed_at: datetime

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("report versions start at 1")
        unknown = set(self.measurements) - set(MEASURES)
        if unknown:
            raise ValueError(f"unknown measurement {sorted(unknown)[0]!r}")
        if any(not 0 < v < 5000 for v in self.measurements.values()):
            raise ValueError("a measurement is between 0 and 5000 ms")


@dataclass(frozen=True, slots=True)
class ConsultRequest:
    """A request for a remote ECG reading and what became of it.

    `alert_id` is the alert it was asked from (None: from the patient page); `proposed` the
    analyser's priority, `priority` the one asked for (never lower); `due_at` the centre's
    deadline; `escalation_id` the centre-side alert that escalates it; `report` the current
    signed version and `amendments` the versions it replaced, oldest first; `report_alert_id`
    the requester-side alert that brings the report back; `receipt_*` the read-back."""

    request_id: str
    centre_id: str
    tenant: str
    patient_id: str
    alert_id: str | None
    priority: ConsultPriority
    proposed: ConsultPriority
    question: str
    requested_by: str
    requested_at: datetime
    due_at: datetime
    ecg: EcgWindow
    status: Status = Status.REQUESTED
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    lease_until: datetime | None = None
    first_claimed_at: datetime | None = None
    report: Report | None = None
    amendments: tuple[Report, ...] = ()
    receipt_by: str | None = None
    receipt_at: datetime | None = None
    escalation_id: str | None = None
    report_alert_id: str | None = None
    updated_at: datetime | None = None
    history: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.priority.rank < self.proposed.rank:
            raise ValueError("the requested priority may raise the proposed one, never lower it")
        if self.requested_at.tzinfo is None or self.due_at.tzinfo is None:
            raise ValueError("request times must be timezone-aware")

    @property
    def final_at(self) -> datetime | None:
        """When the first final report was signed."""
        first = self.amendments[0] if self.amendments else self.report
        return first.signed_at if first is not None else None

    def holder(self, now: datetime) -> str | None:
        """Who holds the claim at `now` (None: free, or reported)."""
        if self.status is not Status.CLAIMED or self.lease_until is None:
            return None
        return self.claimed_by if self.lease_until > now else None
