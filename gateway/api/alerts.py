"""Alerts: list and filter, one alert with its audit trail, acknowledge, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from alerts.lifecycle import acknowledge_alert, resolve_alert
from alerts.model import AlertEvent
from alerts.serialize import alert_to_json
from gateway.api.deps import GatewayDep
from gateway.api.schemas import AckIn

router = APIRouter(prefix="/alerts", tags=["alerts"])


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
    rows = await gw.records.list_alerts(
        patient_id=patient_id,
        state=state,
        priority=priority,
        code=code,
        since=since,
        until=until,
        limit=limit,
    )
    return [alert_to_json(a) for a in rows]


@router.get("/{alert_id}")
async def get_alert(gw: GatewayDep, alert_id: str) -> dict[str, Any]:
    a = await gw.records.get_alert(alert_id)
    if a is None:
        raise HTTPException(404, f"alert {alert_id!r} not found")
    events = await gw.records.alert_events(alert_id)
    return {
        **alert_to_json(a),
        "events": [
            {
                "event": e.event,
                "at": e.at.isoformat(),
                "by": e.actor,
                "client": e.client,
                "detail": e.detail,
            }
            for e in events
        ],
    }


async def _transition(
    gw: GatewayDep, request: Request, alert_id: str, event: AlertEvent
) -> dict[str, Any]:
    client = request.headers.get("user-agent") or (request.client.host if request.client else None)
    book = gw.processor.book(event.alert.tenant)
    book.record(event)  # keep the live book in step with the stored state
    await gw.records.save_events([event], client=client)
    await gw.pipeline.notify([event])
    return alert_to_json(event.alert)


@router.post("/{alert_id}/ack")
async def acknowledge(
    gw: GatewayDep, request: Request, alert_id: str, body: AckIn
) -> dict[str, Any]:
    a = await gw.records.get_alert(alert_id)
    if a is None:
        raise HTTPException(404, f"alert {alert_id!r} not found")
    try:
        event = acknowledge_alert(a, body.by, gw.clock())
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    return await _transition(gw, request, alert_id, event)


@router.post("/{alert_id}/resolve")
async def resolve(gw: GatewayDep, request: Request, alert_id: str, body: AckIn) -> dict[str, Any]:
    a = await gw.records.get_alert(alert_id)
    if a is None:
        raise HTTPException(404, f"alert {alert_id!r} not found")
    if not a.active:
        raise HTTPException(409, f"alert {alert_id} is already resolved")
    return await _transition(gw, request, alert_id, resolve_alert(a, gw.clock(), body.by))
