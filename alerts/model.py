"""Alert values: candidates from detectors, alerts, and the events that change them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.model import PatientKey


class Priority(enum.StrEnum):
    """IEC 60601-1-8 alarm priorities."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}


class State(enum.StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    REFERRED = "referred"
    RESOLVED = "resolved"
    # Emergency calls only (`alerts.emergency`): help is on its way, help is there.
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"


# States in which someone has taken the alert on: tier deadlines no longer run.
HANDLED: frozenset[State] = frozenset(
    {State.ACKNOWLEDGED, State.REFERRED, State.DISPATCHED, State.ARRIVED}
)


class EventType(enum.StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    REFERRED = "referred"
    RESOLVED = "resolved"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"


class Action(enum.StrEnum):
    """What a detector says about an episode: it is (still) present, or it has ended; or, for
    the patient's emergency calls, that a responder is there (the home unit's button)."""

    RAISE = "raise"
    CLEAR = "clear"
    ARRIVE = "arrive"


@dataclass(frozen=True, slots=True)
class AlertCandidate:
    """A detector's finding for one patient. `group` keys one episode (default: the code).

    `at` is the source time (the reading's measurement time), `params` fill the message templates,
    `evidence` is stored with the alert for the clinician. `tenant` is the patient's tenant: the
    detection engine sets it on every candidate of the patient it keys by (tenant, patient id),
    so a timeout of one tenant's "p-001" never lands in another tenant's book. A CLEAR may say
    how the episode ended (`outcome`, e.g. ``cancelled``), an ARRIVE who confirmed the arrival
    (`by`).
    """

    patient_id: str
    code: str
    at: datetime
    action: Action = Action.RAISE
    priority: Priority | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None
    tenant: str | None = None
    outcome: str | None = None
    by: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("candidate time must be timezone-aware")

    @property
    def group_key(self) -> str:
        return self.group or self.code


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert = one episode of one condition for one patient."""

    alert_id: str
    tenant: str
    patient_id: str
    code: str
    group: str
    priority: Priority
    state: State
    opened_at: datetime
    updated_at: datetime
    source_ts: datetime
    message: Mapping[str, str]
    evidence: Mapping[str, Any]
    technical: bool = False
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    escalation_tier: int = 0
    updates: int = 0
    assignee: str | None = None

    @property
    def patient(self) -> PatientKey:
        return PatientKey(self.tenant, self.patient_id)

    @property
    def active(self) -> bool:
        return self.state is not State.RESOLVED

    @property
    def emergency(self) -> bool:
        """A call for help (SOS, fall, silent home): answered in a closed loop."""
        return self.code.startswith("emergency.")


@dataclass(frozen=True, slots=True)
class EscalationDetail:
    """Which tier an event notifies, as notifiers read it and people see it.

    `targets` are roster targets (`team:…`, `rotation:…`, `patient:care_team`, …), `channels`
    the tier's personal channels in order of preference (empty: every personal channel).
    `reason` says why this tier hears now (`opened`, `updated`, `deadline`, `repeat`,
    `ack_expired`, `snooze_expired`, `manual`); `next_due_at`/`next_action` tell when the timer
    fires next and what it will do then. `context` holds the patient flags that chose the plan.
    """

    tier: int
    tier_name: str
    targets: tuple[str, ...]
    channels: tuple[str, ...]
    reason: str
    repeat: int = 0
    next_due_at: datetime | None = None
    next_action: str | None = None
    policy_version: str = ""
    context: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tier < 0:
            raise ValueError("tier must not be negative")
        if self.next_due_at is not None and self.next_due_at.tzinfo is None:
            raise ValueError("next_due_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition of an alert. `actor` is the user who acted (None: the gateway itself).

    `escalation` is set when the event notifies a tier (opened, worsened, escalated);
    `worse` marks an update that raised the priority. `detail` holds notes shown with the event
    (a comment, a referral id); no code reads it.
    """

    event: EventType
    at: datetime
    alert: Alert
    actor: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    escalation: EscalationDetail | None = None
    worse: bool = False
