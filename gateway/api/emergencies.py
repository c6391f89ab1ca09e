"""Emergency calls: the responder's brief for one call, and the service figures a monitoring
centre is audited on (answer and attendance times), both from what the gateway stores."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from alerts.emergency import Dispatch
from devices.timeparse import format_ts
from gateway.actor import Actor
from gateway.api.alert_models import AlertOut, DispatchIn, EscalatedAlertOut, EscalationTimerOut
from gateway.api.deps import ActionsDep, ReadsDep
from gateway.api.reads import Reads
from gateway.api.schemas import ProfileFields, ReadingOut
from gateway.api.security import CurrentActor
from gateway.errors import ConflictError
from gateway.flow.actions import ActionPath
from gateway.flow.takeover import check_takeover, take_over
from gateway.storage.emergencies import ServiceFigures

router = APIRouter(tags=["emergencies"])

# The longest period the service figures cover in one request.
MAX_PERIOD = timedelta(days=366)


class ContactOut(BaseModel):
    name: str
    relation: str
    addresses: list[str]


class OpenAlertOut(BaseModel):
    alert_id: str
    code: str
    priority: str
    state: str
    opened_at: str
    message: dict[str, str]


class BriefOut(ProfileFields):
    """What whoever answers or goes needs: who and where the elder is, how to get in, what
    they live with, their latest vitals, their other open alerts, who to call."""

    alert_id: str
    patient_id: str
    name: str | None
    age: int | None
    lives_alone: bool
    dispatch: dict[str, str | None] | None
    emergency_contacts: list[ContactOut]
    latest: dict[str, ReadingOut]
    open_alerts: list[OpenAlertOut]


async def responder_brief(
    actions: ActionPath, reads: Reads, actor: Actor, alert_id: str
) -> BriefOut:
    """The brief of the caller's tenant's emergency call `alert_id`, as of now."""
    call = await actions.alert(alert_id, actor.tenant)
    if not call.emergency:
        raise ConflictError(f"alert {alert_id} is no emergency call")
    p = await reads.patient(actor, call.patient_id)
    roster = await reads.stores.rosters.roster(actor.tenant)
    latest = await reads.readings.latest(p.key)
    others = [
        a
        for a in await reads.stores.alerts.active(actor.tenant)
        if a.patient_id == call.patient_id and a.alert_id != alert_id and not a.technical
    ]
    now = reads.now()
    going = Dispatch.of(call)
    return BriefOut(
        alert_id=alert_id,
        patient_id=p.patient_id,
        name=p.name,
        age=now.year - p.birth_year if p.birth_year else None,
        lives_alone=p.lives_alone,
        dispatch=replace(going, brief=None).to_json() if going else None,
        emergency_contacts=[
            ContactOut(name=m.name, relation=m.role, addresses=[c.address for c in m.contacts])
            for m in roster.emergency_contacts.get(p.patient_id, ())
        ],
        latest={k.value: ReadingOut.of(r) for k, r in latest.items()},
        open_alerts=[
            OpenAlertOut(
                alert_id=a.alert_id,
                code=a.code,
                priority=a.priority.value,
                state=a.state.value,
                opened_at=format_ts(a.opened_at),
                message=dict(a.message),
            )
            for a in sorted(others, key=lambda a: a.opened_at)
        ],
        **asdict(p.profile),
    )


@router.get("/alerts/{alert_id}/brief")
async def brief(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str
) -> BriefOut:
    """The responder's brief of an emergency call, as of now (the access notes are for the
    tenant's staff and the responder sent; this route serves the tenant's staff only)."""
    return await responder_brief(actions, reads, actor, alert_id)


@router.post("/alerts/{alert_id}/dispatch")
async def dispatch(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str, body: DispatchIn
) -> EscalatedAlertOut:
    """Help sent to an answered emergency call: who, how to reach them, when expected; if
    nobody confirms arrival by then, the dispatcher and the next tier hear. The brief the
    responder goes with is frozen into the call's evidence."""
    sent_with = await responder_brief(actions, reads, actor, alert_id)
    going = Dispatch(
        body.responder,
        body.name.strip(),
        body.contact,
        reads.now() + timedelta(minutes=body.eta_minutes),
        sent_with.model_dump(mode="json", exclude={"dispatch"}),
    )
    if body.take_over:  # checked before anything changes
        lead = await actions.alert(alert_id, actor.tenant)
        await check_takeover(actions, actor, lead, body.take_over)
    a = await actions.dispatch(actor, alert_id, going)
    taken = await take_over(actions, actor, a, body.take_over, "dispatch")
    timer = EscalationTimerOut.of(reads.timer(alert_id))
    return EscalatedAlertOut(
        **AlertOut.of(a).model_dump(),
        escalation=timer,
        taken_over=[t.alert_id for t in taken],
    )


@router.post("/alerts/{alert_id}/arrive")
async def arrive(actions: ActionsDep, actor: CurrentActor, alert_id: str) -> AlertOut:
    """Help is at the elder's home: the emergency call's deadlines stop."""
    return AlertOut.of(await actions.arrive(actor, alert_id))


class FiguresOut(BaseModel):
    """Emergency calls of the period and how fast they were answered and attended (TEC Quality
    answer targets: 97.5 % within 60 s, 99 % within 180 s; responders: 90 % on site within
    45 min, 100 % within 60 min). Shares are of the calls counted, None when there were none."""

    tenant: str
    start: str
    end: str
    calls: int
    answered: int
    answered_within_60s: float | None
    answered_within_180s: float | None
    attended: int
    on_site_within_45min: float | None
    on_site_within_60min: float | None
    median_answer_s: float | None
    median_on_site_min: float | None

    @classmethod
    def of(cls, f: ServiceFigures) -> FiguresOut:
        return cls(
            tenant=f.tenant, start=format_ts(f.start), end=format_ts(f.end), calls=f.calls,
            answered=f.answered, answered_within_60s=f.share_answered(60),
            answered_within_180s=f.share_answered(180), attended=f.attended,
            on_site_within_45min=f.share_on_site(45 * 60),
            on_site_within_60min=f.share_on_site(60 * 60),
            median_answer_s=f.median_answer_s, median_on_site_min=f.median_on_site_min,
        )  # fmt: skip


@router.get("/emergencies/figures")
async def figures(
    reads: ReadsDep,
    actor: CurrentActor,
    start: datetime,
    end: Annotated[datetime | None, Query()] = None,
) -> FiguresOut:
    """The caller's tenant's emergency calls opened in [start, end) (default: until now)."""
    end = end or reads.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "start and end need a UTC offset")
    if not start < end <= start + MAX_PERIOD:
        raise HTTPException(422, f"start must be before end, at most {MAX_PERIOD.days} days")
    return FiguresOut.of(await reads.stores.emergencies.figures(actor.tenant, start, end))
