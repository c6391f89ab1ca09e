"""What the alert desk hands back: events and timer changes, and what an action did.

The caller stores a result's events and timers together (one transaction) before it notifies
anyone; an `ActionResult` also says who acted, when, and what the audit entry keeps.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from alerts.actor import Actor
from alerts.escalation import EscalationState
from alerts.model import Alert, AlertEvent


@dataclass(frozen=True, slots=True)
class TimerChanges:
    """Escalation timers to store: current states to upsert, alert ids whose timer is gone."""

    saved: tuple[EscalationState, ...] = ()
    deleted: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.saved or self.deleted)

    def then(self, later: TimerChanges) -> TimerChanges:
        """These changes followed by `later` ones (the later state of a timer wins)."""
        if not later:
            return self
        if not self:
            return later
        saved = {t.alert_id: t for t in self.saved}
        for alert_id in later.deleted:
            saved.pop(alert_id, None)
        saved.update((t.alert_id, t) for t in later.saved)
        deleted = (set(self.deleted) - saved.keys()) | set(later.deleted)
        return TimerChanges(tuple(saved.values()), tuple(sorted(deleted)))


@dataclass(frozen=True, slots=True)
class DeskResult:
    """What detection or the clock did: alert events in order, and the timers they changed."""

    events: tuple[AlertEvent, ...] = ()
    timers: TimerChanges = field(default_factory=TimerChanges)

    def __bool__(self) -> bool:
        return bool(self.events or self.timers)

    def then(self, later: DeskResult) -> DeskResult:
        if not later:
            return self
        if not self:
            return later
        return DeskResult(self.events + later.events, self.timers.then(later.timers))


NO_TIMERS: Final = TimerChanges()
NOTHING: Final = DeskResult()


class Act(enum.StrEnum):
    """The clinicians' actions on an alert (the audit trail names them so)."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    COMMENT = "comment"
    ASSIGN = "assign"
    ESCALATE = "escalate"
    REFER = "refer"
    SNOOZE = "snooze"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"


@dataclass(frozen=True, slots=True)
class Held:
    """The desk's live copy of an alert and its escalation timer before an action changed them
    (none for an action that changed nothing the desk holds)."""

    alert: Alert | None = None
    timer: EscalationState | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What one clinician's action did.

    `alert` is the alert as it is now; `events` the lifecycle events to store and notify (none
    for bookkeeping actions: comment, assign, snooze); `timers` the escalation timers to store
    with them; `note` what the audit row keeps beyond who, when and what (e.g. the comment text,
    the new assignee); `held` what the desk held before, to put back if the action cannot be
    stored.
    """

    act: Act
    actor: Actor
    at: datetime
    alert: Alert
    events: tuple[AlertEvent, ...] = ()
    timers: TimerChanges = field(default_factory=TimerChanges)
    note: Mapping[str, Any] = field(default_factory=dict)
    held: Held = field(default_factory=Held)


# What an action that changed nothing the desk holds would put back.
NOTHING_HELD: Final = Held()


class ActionRefusedError(ValueError):
    """The action does not apply to the alert as it is (e.g. it is already resolved)."""

    def __init__(self, act: Act, alert_id: str, detail: str) -> None:
        super().__init__(detail)
        self.act = act
        self.alert_id = alert_id
        self.detail = detail


class NotHeldError(ActionRefusedError):
    """The desk holds no active alert with that id for the actor's tenant: it is unknown,
    another tenant's or resolved (the stored alerts tell which)."""
