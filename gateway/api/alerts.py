"""Alerts: list and filter, one alert with its audit trail, and the clinician's actions.

Actions (acknowledge, resolve, comment, assign, escalate, refer) are taken under the acting
user's own identity: `by` in the body (until authentication arrives, the `X-HMG-User` header
overrides it). The client is recorded from `X-HMG-Client`, else the User-Agent and address.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from alerts.actor import Actor, Role
from alerts.desk import ActionRefusedError, ActionResult
from alerts.model import Alert, AlertEvent, EventType
from alerts.referral import Referral, Urgency, referral_id_for, to_fhir
from alerts.serialize import alert_to_json
from devices.timeparse import format_ts
from gateway.api.deps import GatewayDep
from gateway.service import Gateway
from gateway.storage import AuditEntry

router = APIRouter(prefix="/alerts", tags=["alerts"])
audit_router = APIRouter(tags=["audit"])

UserHeader = Annotated[str | None, Header(alias="X-HMG-User")]
ClientHeader = Annotated[str | None, Header(alias="X-HMG-Client")]


class ActionIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    comment: str | None = Field(default=None, max_length=4000)


class CommentIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=4000)


class AssignIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    assignee: str | None = Field(default=None, max_length=128)


class ReferIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    target_org: str = Field(min_length=1, max_length=200)
    department: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    urgency: Urgency = Urgency.URGENT
    green_channel: bool = False
    evidence_hours: float = Field(default=24.0, gt=0, le=24 * 14)


def _client(request: Request, header: str | None) -> str | None:
    if header:
        return header[:200]
    agent = request.headers.get("user-agent", "")
    host = request.client.host if request.client else ""
    return f"{agent} @{host}".strip()[:200] or None


def _actor(body_by: str, header: str | None) -> str:
    return header or body_by


def _who(by: str, alert: Alert, client: str | None) -> Actor:
    return Actor(by, Role.CLINICIAN, alert.tenant, client or "")


@router.get("")
async def list_alerts(
    gw: GatewayDep,
    patient_id: str | None = None,
    state: str | None = None,
    priority: str | None = None,
    code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    rows = await gw.stores.alerts.query(
        patient_id=patient_id,
        state=state,
        priority=priority,
        code=code,
        since=since,
        until=until,
        limit=limit,
    )
    return [alert_to_json(a) for a in rows]


async def _current(gw: Gateway, alert_id: str) -> Alert:
    """The live state (the alert desk) when active, else the stored one."""
    a = gw.desk.find(alert_id) or await gw.stores.alerts.get(alert_id)
    if a is None:
        raise HTTPException(404, f"alert {alert_id!r} not found")
    return a


def _timer_json(gw: Gateway, alert_id: str) -> dict[str, Any] | None:
    st = gw.desk.timer(alert_id)
    if st is None:
        return None
    return {
        "tier": st.tier,
        "due_at": format_ts(st.due_at) if st.due_at else None,
        "next_action": st.reason if st.due_at else None,
        "repeats": st.repeats,
        "context": sorted(st.flags),
        "policy_version": st.policy_version,
    }


async def _audit_entries(gw: Gateway, alert_id: str) -> list[dict[str, Any]]:
    entries = [
        {
            "kind": "event",
            "action": e.event.value,
            "at": format_ts(e.at),
            "by": e.actor,
            "client": e.client,
            "detail": e.detail,
        }
        for e in await gw.stores.alerts.events(alert_id)
    ]
    entries += [
        {
            "kind": "action",
            "action": r.action,
            "at": format_ts(r.at),
            "by": r.actor,
            "client": r.client,
            "detail": r.detail,
        }
        for r in await gw.stores.audit.entries(subject_id=alert_id)
    ]
    return sorted(entries, key=lambda e: str(e["at"]))


@router.get("/{alert_id}")
async def get_alert(gw: GatewayDep, alert_id: str) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    events = await gw.stores.alerts.events(alert_id)
    return {
        **alert_to_json(a),
        "events": [
            {
                "event": e.event.value,
                "at": e.at.isoformat(),
                "by": e.actor,
                "client": e.client,
                "detail": e.detail,
            }
            for e in events
        ],
        "comments": [
            {"at": format_ts(r.at), "by": r.actor, "text": r.detail.get("text")}
            for r in await gw.stores.audit.entries(subject_id=alert_id)
            if r.action == "comment"
        ],
        "escalation": _timer_json(gw, alert_id),
        "referrals": [r.referral_id for r in await gw.stores.referrals.query(alert_id=alert_id)],
        "deliveries": [
            {
                "channel": d.channel,
                "target": d.target,
                "status": d.status,
                "attempts": d.attempts,
                "error": d.error,
                "at": format_ts(d.at),
                "event": d.event,
            }
            for d in await gw.stores.deliveries.of_alert(alert_id)
        ],
    }


@router.get("/{alert_id}/audit")
async def alert_audit(gw: GatewayDep, alert_id: str) -> list[dict[str, Any]]:
    await _current(gw, alert_id)
    return await _audit_entries(gw, alert_id)


async def _transition(
    gw: Gateway, client: str | None, done: ActionResult, comment: str | None = None
) -> dict[str, Any]:
    """Store the action's events, the timers they moved and the comment together, then
    notify."""
    async with gw.stores.transaction() as tx:
        await gw.stores.alerts.save_events(done.events, client=client, tx=tx)
        await gw.stores.timers.save(done.timers.saved, done.timers.deleted, tx=tx)
        if comment:
            await gw.stores.audit.append(
                AuditEntry(
                    done.at,
                    done.actor.user,
                    client,
                    "comment",
                    "alert",
                    done.alert.alert_id,
                    {"text": comment, "with": done.events[0].event.value},
                ),
                tx=tx,
            )
    await gw.pipeline.notify(done.events)
    return alert_to_json(done.alert)


@router.post("/{alert_id}/ack")
async def acknowledge(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: ActionIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    cl = _client(request, client)
    try:
        done = gw.desk.acknowledge(a, _who(_actor(body.by, user), a, cl), gw.clock())
    except ActionRefusedError as exc:
        raise HTTPException(409, str(exc)) from exc
    return await _transition(gw, cl, done, body.comment)


@router.post("/{alert_id}/resolve")
async def resolve(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: ActionIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    if not a.active:
        raise HTTPException(409, f"alert {alert_id} is already resolved")
    cl = _client(request, client)
    try:
        done = gw.desk.resolve(a, _who(_actor(body.by, user), a, cl), gw.clock())
    except ActionRefusedError as exc:
        raise HTTPException(409, str(exc)) from exc
    return await _transition(gw, cl, done, body.comment)


@router.post("/{alert_id}/escalate")
async def escalate(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: ActionIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    if not a.active:
        raise HTTPException(409, f"alert {alert_id} is resolved")
    cl = _client(request, client)
    try:
        done = gw.desk.escalate(a, _who(_actor(body.by, user), a, cl), gw.clock())
    except ActionRefusedError as exc:
        raise HTTPException(409, str(exc)) from exc
    async with gw.stores.transaction() as tx:
        await gw.stores.alerts.save_events(done.events, client=cl, tx=tx)
        await gw.stores.timers.save(done.timers.saved, done.timers.deleted, tx=tx)
        if body.comment:
            await gw.stores.audit.append(
                AuditEntry(
                    done.at,
                    done.actor.user,
                    cl,
                    "comment",
                    "alert",
                    alert_id,
                    {"text": body.comment},
                ),
                tx=tx,
            )
    await gw.pipeline.notify(done.events)
    return {**alert_to_json(done.alert), "escalation": _timer_json(gw, alert_id)}


@router.post("/{alert_id}/comment")
async def comment(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: CommentIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    await _current(gw, alert_id)
    at, by = gw.clock(), _actor(body.by, user)
    await gw.stores.audit.append(
        AuditEntry(
            at, by, _client(request, client), "comment", "alert", alert_id, {"text": body.text}
        )
    )
    return {"alert_id": alert_id, "at": format_ts(at), "by": by, "text": body.text}


@router.post("/{alert_id}/assign")
async def assign(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: AssignIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    at, by, cl = gw.clock(), _actor(body.by, user), _client(request, client)
    # Assignment is audited, not a lifecycle event; the desk keeps its live copy in step.
    done = gw.desk.assign(a, _who(by, a, cl), at, body.assignee)
    await gw.stores.alerts.assign(alert_id, body.assignee, by, at)
    await gw.stores.audit.append(
        AuditEntry(at, by, cl, "assign", "alert", alert_id, {"to": body.assignee})
    )
    # Every open dashboard follows at once (the live view only: nobody is notified).
    gw.sse.show(AlertEvent(EventType.UPDATED, at, done.alert, by, {"assignee": body.assignee}))
    return {**alert_to_json(done.alert), "assignee": body.assignee}


async def _evidence(gw: Gateway, a: Alert, hours: float) -> dict[str, Any]:
    """Recent readings and an ECG strip reference, frozen into the referral."""
    end = gw.clock()
    start = end - timedelta(hours=hours)
    readings = await gw.readings.query(a.patient_id, None, start, end, limit=200)
    out: list[dict[str, Any]] = []
    ecg_ref = None
    for r in readings:
        if r.ecg is not None:
            ecg_ref = {
                "ref": f"urn:hmg:ecg:{r.device_id}:{r.seq}",
                "device_id": r.device_id,
                "ts": format_ts(r.ts),
                "fs": r.ecg.fs,
                "lead": r.ecg.lead,
            }
            continue
        out.append(
            {
                "id": f"{r.device_id}-{r.seq}",
                "kind": r.kind.value,
                "ts": format_ts(r.ts),
                "values": dict(r.values),
                "display": f"{r.kind.value} {dict(r.values)}",
            }
        )
    return {
        "alert": {"code": a.code, "priority": a.priority.value, "message": dict(a.message)},
        "alert_evidence": dict(a.evidence),
        "readings": out[-50:],
        "ecg_strip": ecg_ref,
        "window": {"start": format_ts(start), "end": format_ts(end)},
    }


@router.post("/{alert_id}/refer", status_code=201)
async def refer(
    gw: GatewayDep,
    request: Request,
    alert_id: str,
    body: ReferIn,
    user: UserHeader = None,
    client: ClientHeader = None,
) -> dict[str, Any]:
    a = await _current(gw, alert_id)
    if not a.active:
        raise HTTPException(409, f"alert {alert_id} is resolved")
    now, by = gw.clock(), _actor(body.by, user)
    referral = Referral(
        referral_id=referral_id_for(alert_id, now),
        alert_id=alert_id,
        tenant=a.tenant,
        patient_id=a.patient_id,
        target_org=body.target_org,
        department=body.department,
        reason=body.reason,
        urgency=body.urgency,
        green_channel=body.green_channel,
        requested_by=by,
        requested_at=now,
        evidence=await _evidence(gw, a, body.evidence_hours),
    )
    cl = _client(request, client)
    try:
        done = gw.desk.refer(a, _who(by, a, cl), now, referral.referral_id)
    except ActionRefusedError as exc:
        raise HTTPException(409, str(exc)) from exc
    await gw.stores.referrals.save(referral)
    await gw.stores.audit.append(
        AuditEntry(now, by, cl, "refer", "referral", referral.referral_id, {"alert_id": alert_id})
    )
    alert = await _transition(gw, cl, done)
    return {"referral_id": referral.referral_id, "alert": alert, "fhir": to_fhir(referral)}


@audit_router.get("/audit")
async def audit_log(
    gw: GatewayDep,
    actor: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Non-transition actions (comments, assignments, roster and referral edits); alert
    transitions are in each alert's `/alerts/{id}/audit`."""
    rows = await gw.stores.audit.entries(
        subject_id=subject_id, actor=actor, since=since, limit=limit
    )
    return [
        {
            "at": format_ts(r.at),
            "by": r.actor,
            "client": r.client,
            "action": r.action,
            "subject_type": r.subject_type,
            "subject_id": r.subject_id,
            "detail": r.detail,
        }
        for r in rows
    ]
