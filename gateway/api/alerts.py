"""Alerts: list and filter, one alert with its audit trail, and the clinicians' actions.

Every action goes through `gateway.flow.actions` under the acting user (`CurrentActor`); the
handlers here only parse the request, call the action and shape the response.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from alerts.referral import to_fhir
from devices.timeparse import format_ts
from gateway.api.alert_models import (
    ActionIn,
    AlertCommentOut,
    AlertDetailOut,
    AlertOut,
    AssignIn,
    CommentIn,
    CommentOut,
    DeliveryOut,
    EscalatedAlertOut,
    EscalationTimerOut,
    EventOut,
    ReferIn,
    ResolveIn,
    SnoozeIn,
    TrailEntryOut,
)
from gateway.api.deps import ActionsDep, LiveDep, ReadsDep
from gateway.api.paging import CursorParam, page, time_cursor, time_key
from gateway.api.schemas import MAX_LIST, ServiceRequestOut
from gateway.api.security import CurrentActor
from gateway.flow.actions import ReferralRequest
from gateway.flow.actions import review as review_alert
from gateway.flow.takeover import check_takeover, take_over

router = APIRouter(prefix="/alerts", tags=["alerts"])


class ReferOut(BaseModel):
    referral_id: str
    alert: AlertOut
    fhir: ServiceRequestOut
    taken_over: list[AlertOut] = []


@router.get("")
async def list_alerts(
    request: Request,
    response: Response,
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str | None = None,
    state: str | None = None,
    priority: str | None = None,
    code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 200,
    cursor: CursorParam = None,
    missed: Annotated[
        bool | None,
        Query(description="true: only alerts nobody acted on; false: only those someone did"),
    ] = None,
) -> list[AlertOut]:
    """The caller's tenant's alerts, newest first; more pages through `Link: rel="next"`.
    `since`/`until` bound the opening time; `state=resolved&missed=true` is the history of the
    alerts that ended before anyone acted on them."""
    found = await reads.stores.alerts.query(
        after=time_key(cursor),
        tenant=actor.tenant,
        patient_id=patient_id,
        state=state,
        priority=priority,
        code=code,
        since=since,
        until=until,
        limit=limit + 1,
        missed=missed,
    )
    shown = page(request, response, found, limit, lambda a: time_cursor(a.opened_at, a.alert_id))
    return [AlertOut.of(a) for a in shown]


@router.get("/{alert_id}")
async def get_alert(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str
) -> AlertDetailOut:
    a = await actions.alert(alert_id, actor.tenant)
    stores = reads.stores
    entries = await stores.audit.entries(subject_id=alert_id)
    return AlertDetailOut(
        **AlertOut.of(a).model_dump(),
        events=[EventOut.of(e) for e in await stores.alerts.events(alert_id)],
        comments=[
            CommentOut(at=format_ts(e.at), by=e.actor, text=e.comment)
            for e in entries
            if e.comment is not None
        ],
        escalation=EscalationTimerOut.of(reads.timer(alert_id)),
        referrals=[r.referral_id for r in await stores.referrals.query(alert_id=alert_id)],
        deliveries=[DeliveryOut.of(d) for d in await stores.deliveries.of_alert(alert_id)],
    )


@router.get("/{alert_id}/audit")
async def alert_audit(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str
) -> list[TrailEntryOut]:
    """The alert's lifecycle events and every action taken on it, in time order."""
    await actions.alert(alert_id, actor.tenant)
    trail = [
        TrailEntryOut(
            kind="event",
            action=e.event.value,
            at=format_ts(e.at),
            by=e.actor,
            client=e.client,
            detail=dict(e.detail),
        )
        for e in await reads.stores.alerts.events(alert_id)
    ]
    trail += [
        TrailEntryOut(
            kind="action",
            action=e.action,
            at=format_ts(e.at),
            by=e.actor,
            client=e.client,
            detail=dict(e.detail),
        )
        for e in await reads.stores.audit.entries(subject_id=alert_id)
    ]
    return sorted(trail, key=lambda t: t.at)


@router.post("/{alert_id}/ack")
async def acknowledge(
    actions: ActionsDep, actor: CurrentActor, alert_id: str, body: ActionIn
) -> AlertOut:
    return AlertOut.of(await actions.acknowledge(actor, alert_id, body.comment))


@router.post("/{alert_id}/resolve")
async def resolve(
    actions: ActionsDep, actor: CurrentActor, alert_id: str, body: ResolveIn
) -> AlertOut:
    """Resolve by hand; an emergency call with its outcome (`taken_to_hospital` with the
    hospital opens a referral with the evidence)."""
    a = await actions.resolve(actor, alert_id, body.comment, body.outcome, body.hospital)
    return AlertOut.of(a)


@router.post("/{alert_id}/review")
async def review(reads: ReadsDep, live: LiveDep, actor: CurrentActor, alert_id: str) -> AlertOut:
    """A serious alert that cleared before anyone acted on it has been seen: it leaves the
    queue (404 for any other alert). The alert is over, so no desk takes part."""
    a = await review_alert(reads.stores, actor, alert_id, reads.now())
    live.show("reviewed", reads.now(), a, actor.user, {})
    return AlertOut.of(a)


@router.post("/{alert_id}/escalate")
async def escalate(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str, body: ActionIn
) -> EscalatedAlertOut:
    a = await actions.escalate(actor, alert_id, body.comment)
    timer = EscalationTimerOut.of(reads.timer(alert_id))
    return EscalatedAlertOut(**AlertOut.of(a).model_dump(), escalation=timer)


@router.post("/{alert_id}/snooze")
async def snooze(
    actions: ActionsDep, reads: ReadsDep, actor: CurrentActor, alert_id: str, body: SnoozeIn
) -> EscalatedAlertOut:
    """Put notification off for `minutes`: no tier moves or repeats before then."""
    until = reads.now() + timedelta(minutes=body.minutes)
    a = await actions.snooze(actor, alert_id, until, body.comment)
    timer = EscalationTimerOut.of(reads.timer(alert_id))
    return EscalatedAlertOut(**AlertOut.of(a).model_dump(), escalation=timer)


@router.post("/{alert_id}/comment")
async def comment(
    actions: ActionsDep, actor: CurrentActor, alert_id: str, body: CommentIn
) -> AlertCommentOut:
    entry = await actions.comment(actor, alert_id, body.text)
    return AlertCommentOut(
        alert_id=alert_id, at=format_ts(entry.at), by=entry.actor, text=body.text
    )


@router.post("/{alert_id}/assign")
async def assign(
    actions: ActionsDep, actor: CurrentActor, alert_id: str, body: AssignIn
) -> AlertOut:
    return AlertOut.of(await actions.assign(actor, alert_id, body.assignee))


@router.post("/{alert_id}/refer", status_code=status.HTTP_201_CREATED)
async def refer(actions: ActionsDep, actor: CurrentActor, alert_id: str, body: ReferIn) -> ReferOut:
    request = ReferralRequest(
        target_org=body.target_org,
        department=body.department,
        reason=body.reason,
        urgency=body.urgency,
        green_channel=body.green_channel,
        evidence_hours=body.evidence_hours,
    )
    if body.take_over:  # checked before anything changes: a wrong id refuses the referral
        lead = await actions.alert(alert_id, actor.tenant)
        await check_takeover(actions, actor, lead, body.take_over)
    referral = await actions.refer(actor, alert_id, request)
    lead = await actions.alert(alert_id, actor.tenant)
    taken = await take_over(actions, actor, lead, body.take_over, "referral", referral.referral_id)
    return ReferOut(
        taken_over=[AlertOut.of(a) for a in taken],
        referral_id=referral.referral_id,
        alert=AlertOut.of(await actions.alert(alert_id, actor.tenant)),
        fhir=ServiceRequestOut.model_validate(to_fhir(referral)),
    )
