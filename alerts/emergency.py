"""The closed loop of an emergency call: answered, help dispatched, help arrived, resolved.

An `emergency.*` alert (SOS, fall, silent home) goes

    opened -> acknowledged (someone is handling the call) -> dispatched (who is going, and when
    they are expected) -> arrived (the responder confirms on the page, or presses the home
    unit's button: a `help_arrived` event) -> resolved with an outcome

with deadlines on each step (`alerts.policy.EmergencyTimes`; the timers are
`alerts.escalation`'s `answer` and `arrival` reasons). Most calls are handled without an
ambulance, so the responder is a choice: a family contact, a community responder, the
tenant's own staff, or an ambulance. The transitions here are pure; the desk applies them.

>>> from datetime import UTC, datetime, timedelta
>>> from alerts.lifecycle import acknowledge_alert, open_alert
>>> from alerts.model import AlertCandidate
>>> t0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
>>> sos = open_alert("t", AlertCandidate("p-1", "emergency.sos", t0), t0).alert
>>> ack = acknowledge_alert(sos, "op.wu", t0 + timedelta(seconds=40)).alert
>>> going = Dispatch(Responder.COMMUNITY, "Li Ming", "+8613800000000", t0 + timedelta(minutes=20))
>>> sent = dispatch_alert(ack, "op.wu", t0 + timedelta(minutes=1), going)
>>> (sent.event.value, sent.alert.state.value, Dispatch.of(sent.alert) == going)
('dispatched', 'dispatched', True)
>>> there = arrive_alert(sent.alert, "responder", t0 + timedelta(minutes=18), "home_unit")
>>> there.alert.state.value
'arrived'
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from alerts.model import Alert, AlertEvent, EventType, State
from devices.timeparse import format_ts, parse_ts

__all__ = [
    "Dispatch",
    "Outcome",
    "Responder",
    "arrive_alert",
    "arrived_at",
    "dispatch_alert",
]


class Responder(enum.StrEnum):
    """Who is sent to the elder."""

    FAMILY = "family"  # an emergency contact (relative, neighbour)
    COMMUNITY = "community"  # a community responder or home-care worker
    STAFF = "staff"  # the tenant's own staff (family-doctor team, call-centre outreach)
    AMBULANCE = "ambulance"  # emergency medical services


class Outcome(enum.StrEnum):
    """How an emergency call ended (the resolution every emergency alert records)."""

    FALSE_ALARM = "false_alarm"
    HANDLED_AT_HOME = "handled_at_home"
    TAKEN_TO_HOSPITAL = "taken_to_hospital"  # a referral with the evidence is opened
    CANCELLED = "cancelled"  # the wearer's own "I'm fine" in time (falls)


# Where an alert keeps its response (within its evidence, so every store already holds it).
_RESPONSE = "response"


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Help sent: who, how to reach them, and when they are expected on site; `brief` is what
    they were sent with (address, access notes, latest vitals, other open alerts, medications,
    allergies), frozen at the dispatch so the record shows what the responder was told."""

    responder: Responder
    name: str
    contact: str | None
    expected_at: datetime
    brief: Mapping[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a dispatch names who is going")
        if self.expected_at.tzinfo is None:
            raise ValueError("expected_at must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "responder": self.responder.value,
            "name": self.name,
            "contact": self.contact,
            "expected_at": format_ts(self.expected_at),
        }
        if self.brief is not None:
            doc["brief"] = dict(self.brief)
        return doc

    @classmethod
    def of(cls, alert: Alert) -> Dispatch | None:
        """The latest dispatch of an alert, if any."""
        raw = alert.evidence.get(_RESPONSE, {}).get("dispatch")
        if not isinstance(raw, dict):
            return None
        return cls(
            Responder(raw["responder"]),
            str(raw["name"]),
            raw.get("contact"),
            parse_ts(str(raw["expected_at"])),
            raw.get("brief"),
        )


def _with_response(alert: Alert, **fields: Any) -> dict[str, Any]:
    response = {**alert.evidence.get(_RESPONSE, {}), **fields}
    return {**alert.evidence, _RESPONSE: response}


def dispatch_alert(alert: Alert, by: str, now: datetime, dispatch: Dispatch) -> AlertEvent:
    """Help is on its way. The call must have been answered; a second dispatch (another
    responder, a new time) replaces the first. Refused once help is there or the call is over."""
    if not alert.emergency:
        raise ValueError(f"alert {alert.alert_id} is no emergency call")
    if alert.state in (State.OPEN, State.ESCALATED):
        raise ValueError("acknowledge the call before dispatching help")
    if alert.state not in (State.ACKNOWLEDGED, State.DISPATCHED):
        raise ValueError(f"alert {alert.alert_id} is {alert.state.value}")
    doc = dispatch.to_json()
    new = replace(
        alert,
        state=State.DISPATCHED,
        updated_at=now,
        evidence=_with_response(
            alert, dispatch=doc, dispatched_by=by, dispatched_at=format_ts(now)
        ),
    )
    return AlertEvent(EventType.DISPATCHED, now, new, actor=by, detail=doc)


def arrive_alert(alert: Alert, by: str, now: datetime, source: str) -> AlertEvent:
    """Help is there (`source`: `page`, or `home_unit` for the responder's button). Arrival
    ends the loop's deadlines; it may come before anyone recorded a dispatch (a neighbour)."""
    if not alert.emergency:
        raise ValueError(f"alert {alert.alert_id} is no emergency call")
    if not alert.active or alert.state is State.ARRIVED:
        raise ValueError(f"alert {alert.alert_id} is {alert.state.value}")
    new = replace(
        alert,
        state=State.ARRIVED,
        updated_at=now,
        evidence=_with_response(alert, arrived_at=format_ts(now), arrival_source=source),
    )
    return AlertEvent(EventType.ARRIVED, now, new, actor=by, detail={"source": source})


def arrived_at(alert: Alert) -> datetime | None:
    raw = alert.evidence.get(_RESPONSE, {}).get("arrived_at")
    return parse_ts(raw) if isinstance(raw, str) else None
