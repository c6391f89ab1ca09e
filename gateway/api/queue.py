"""The triage queue in one call: every active alert with its patient, assignee and escalation
timer, so the dashboard can group, sort and count down without one request per alert."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from alerts.codes import urgency
from alerts.combined import covering
from alerts.model import Alert, State
from devices.timeparse import format_ts
from gateway.api.alert_models import AlertOut
from gateway.api.deps import ReadsDep
from gateway.api.reads import Reads
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/queue", tags=["queue"])

ACTIVE_STATES = tuple(s for s in State if s is not State.RESOLVED)
MAX_QUEUE = 2000


class PatientBrief(BaseModel):
    patient_id: str
    name: str | None = None
    birth_year: int | None = None
    lives_alone: bool = False
    disability: bool = False


class TimerOut(BaseModel):
    tier: int
    due_at: str | None
    next_action: str | None


class QueueItemOut(AlertOut):
    """An alert as `AlertOut` shows it, with what the queue adds."""

    escalation: TimerOut | None
    patient: PatientBrief
    needs_review: bool = False  # resolved before anyone acted: stays until a clinician reviews it
    # The open combined alert (`cv.*`) whose episode this alert is part of: one row, one timer.
    part_of: str | None = None


class QueueOut(BaseModel):
    at: str
    items: list[QueueItemOut]


async def active_alerts(reads: Reads, tenant: str) -> list[Alert]:
    """Every alert of the tenant not yet resolved, emergencies first, then by priority, newest
    first within; bounded (so the bound never cuts off an emergency for newer, lesser alerts)."""
    found: list[Alert] = []
    for state in ACTIVE_STATES:
        found += await reads.stores.alerts.query(tenant=tenant, state=state.value, limit=MAX_QUEUE)
    found.sort(key=lambda a: (urgency(a.code, a.priority), a.opened_at), reverse=True)
    return found[:MAX_QUEUE]


def _timer(reads: Reads, alert_id: str) -> TimerOut | None:
    st = reads.timer(alert_id)
    if st is None:
        return None
    due: datetime | None = st.due_at
    return TimerOut(
        tier=st.tier, due_at=format_ts(due) if due else None, next_action=st.reason if due else None
    )


@router.get("")
async def queue(reads: ReadsDep, actor: CurrentActor) -> QueueOut:
    """The caller's tenant's active alerts with patient, assignee and the next escalation, and
    the serious alerts that resolved before anyone acted on them (`needs_review`, until a
    clinician reviews each); the page orders them."""
    alerts = await active_alerts(reads, actor.tenant)
    open_now = list(alerts)
    unseen = await reads.stores.alerts.unreviewed(actor.tenant)
    review = {a.alert_id for a in unseen}
    alerts += unseen
    patients = {p.patient_id: p for p in await reads.stores.patients.patients(actor.tenant)}
    items = []
    for a in alerts:
        p = patients.get(a.patient_id)
        brief = PatientBrief(patient_id=a.patient_id)
        if p is not None:
            brief = PatientBrief(
                patient_id=p.patient_id,
                name=p.name,
                birth_year=p.birth_year,
                lives_alone=p.lives_alone,
                disability=p.disability,
            )
        combined = covering(open_now, a) if a.active else None
        items.append(
            QueueItemOut(
                **AlertOut.of(a).model_dump(),
                escalation=_timer(reads, a.alert_id),
                patient=brief,
                needs_review=a.alert_id in review,
                part_of=combined.alert_id if combined is not None else None,
            )
        )
    return QueueOut(at=format_ts(reads.now()), items=items)
