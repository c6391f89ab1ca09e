"""API models of alerts, their trail and referrals (pydantic at the edge; built from domain
values, never from rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from alerts.emergency import Outcome, Responder
from alerts.escalation import EscalationState
from alerts.model import Alert
from alerts.referral import Referral, Urgency
from devices.timeparse import format_ts
from gateway.api.schemas import RequestIn
from gateway.storage import Delivery, StoredEvent


def _ts(t: datetime | None) -> str | None:
    return format_ts(t) if t is not None else None


# -- requests ---------------------------------------------------------------------------------
class ActionIn(RequestIn):
    comment: str | None = Field(default=None, max_length=4000)


class ResolveIn(ActionIn):
    outcome: Outcome | None = Field(
        default=None, description="required for an emergency call: how it ended"
    )
    hospital: str | None = Field(
        default=None, max_length=200, description="taken_to_hospital: where (a referral opens)"
    )


class DispatchIn(RequestIn):
    """Help sent to an emergency call."""

    responder: Responder
    name: str = Field(min_length=1, max_length=200, description="who is going")
    contact: str | None = Field(default=None, max_length=200)
    eta_minutes: float = Field(
        gt=0, le=24 * 60, description="expected on site in this many minutes"
    )
    take_over: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="the elder's other open alerts the dispatch takes over (acknowledged)",
    )


class CommentIn(RequestIn):
    text: str = Field(min_length=1, max_length=4000)


class AssignIn(RequestIn):
    assignee: str | None = Field(default=None, max_length=128)


class SnoozeIn(RequestIn):
    minutes: float = Field(gt=0, le=24 * 60, description="how long notification is put off")
    comment: str | None = Field(default=None, max_length=4000)


class ReferIn(RequestIn):
    target_org: str = Field(min_length=1, max_length=200)
    department: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    urgency: Urgency = Urgency.URGENT
    green_channel: bool = False
    evidence_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    take_over: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="the elder's other open alerts the referral takes over (acknowledged)",
    )


class ReferralActionIn(RequestIn):
    note: str | None = Field(default=None, max_length=4000)


# -- responses --------------------------------------------------------------------------------
class AlertOut(BaseModel):
    """An alert as the alert topic and the API show it (DESIGN.md)."""

    alert_id: str
    patient_id: str
    code: str
    priority: str
    state: str
    opened_at: str
    source_ts: str
    message: dict[str, str]
    evidence: dict[str, Any]
    tenant: str
    technical: bool
    updated_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_at: str | None
    escalation_tier: int
    assignee: str | None

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            alert_id=a.alert_id,
            patient_id=a.patient_id,
            code=a.code,
            priority=a.priority.value,
            state=a.state.value,
            opened_at=format_ts(a.opened_at),
            source_ts=format_ts(a.source_ts),
            message=dict(a.message),
            evidence=dict(a.evidence),
            tenant=a.tenant,
            technical=a.technical,
            updated_at=format_ts(a.updated_at),
            acknowledged_by=a.acknowledged_by,
            acknowledged_at=_ts(a.acknowledged_at),
            resolved_at=_ts(a.resolved_at),
            escalation_tier=a.escalation_tier,
            assignee=a.assignee,
        )


class EscalationTimerOut(BaseModel):
    """The alert's pending escalation: the tier reached and what happens next, when."""

    tier: int
    due_at: str | None
    next_action: str | None
    repeats: int
    context: list[str]
    policy_version: str

    @classmethod
    def of(cls, st: EscalationState | None) -> EscalationTimerOut | None:
        if st is None:
            return None
        return cls(
            tier=st.tier,
            due_at=_ts(st.due_at),
            next_action=st.reason if st.due_at else None,
            repeats=st.repeats,
            context=sorted(st.flags),
            policy_version=st.policy_version,
        )


class EscalatedAlertOut(AlertOut):
    escalation: EscalationTimerOut | None
    taken_over: list[str] = Field(default_factory=list, description="alerts the action took over")


class EventOut(BaseModel):
    event: str
    at: str
    by: str | None
    client: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: StoredEvent) -> EventOut:
        return cls(
            event=e.event.value,
            at=e.at.isoformat(),
            by=e.actor,
            client=e.client,
            detail=dict(e.detail),
        )


class CommentOut(BaseModel):
    at: str
    by: str | None
    text: str | None


class AlertCommentOut(CommentOut):
    alert_id: str


class DeliveryOut(BaseModel):
    channel: str
    target: str
    status: str
    attempts: int
    error: str | None
    at: str
    event: str

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            channel=d.channel,
            target=d.target,
            status=d.status,
            attempts=d.attempts,
            error=d.error,
            at=format_ts(d.at),
            event=d.event,
        )


class AlertDetailOut(AlertOut):
    """One alert with its trail, comments, escalation, referrals and notification deliveries."""

    events: list[EventOut]
    comments: list[CommentOut]
    escalation: EscalationTimerOut | None
    referrals: list[str]
    deliveries: list[DeliveryOut]


class TrailEntryOut(BaseModel):
    """One line of an alert's audit trail: a lifecycle `event` or a person's `action`."""

    kind: str
    action: str
    at: str
    by: str | None
    client: str | None
    detail: dict[str, Any]


class ReferralOut(BaseModel):
    referral_id: str
    alert_id: str
    tenant: str
    patient_id: str
    state: str
    target_org: str
    department: str
    reason: str
    urgency: str
    green_channel: bool
    requested_by: str
    requested_at: str
    updated_by: str | None
    updated_at: str | None
    note: str | None
    evidence: dict[str, Any]

    @classmethod
    def of(cls, r: Referral) -> ReferralOut:
        return cls(
            referral_id=r.referral_id,
            alert_id=r.alert_id,
            tenant=r.tenant,
            patient_id=r.patient_id,
            state=r.state.value,
            target_org=r.target_org,
            department=r.department,
            reason=r.reason,
            urgency=r.urgency.value,
            green_channel=r.green_channel,
            requested_by=r.requested_by,
            requested_at=format_ts(r.requested_at),
            updated_by=r.updated_by,
            updated_at=_ts(r.updated_at),
            note=r.note,
            evidence=r.evidence.to_json(),
        )
