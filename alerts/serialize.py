"""Alert events as the fixed JSON contract of DESIGN.md."""

from __future__ import annotations

from typing import Any

from alerts.model import Alert, AlertEvent
from devices.timeparse import format_ts


def alert_to_json(a: Alert) -> dict[str, Any]:
    return {
        "alert_id": a.alert_id,
        "patient_id": a.patient_id,
        "code": a.code,
        "priority": a.priority.value,
        "state": a.state.value,
        "opened_at": format_ts(a.opened_at),
        "source_ts": format_ts(a.source_ts),
        "message": dict(a.message),
        "evidence": dict(a.evidence),
        "tenant": a.tenant,
        "technical": a.technical,
        "updated_at": format_ts(a.updated_at),
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": format_ts(a.acknowledged_at) if a.acknowledged_at else None,
        "resolved_at": format_ts(a.resolved_at) if a.resolved_at else None,
        "escalation_tier": a.escalation_tier,
        "assignee": a.assignee,
    }


def event_to_json(e: AlertEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": e.event.value,
        "at": format_ts(e.at),
        "alert": alert_to_json(e.alert),
    }
    if e.actor:
        out["by"] = e.actor
    if e.detail:
        out["detail"] = dict(e.detail)
    return out
