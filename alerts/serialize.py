"""Alert events as the fixed JSON contract of DESIGN.md."""

from __future__ import annotations

from typing import Any

from alerts.model import Alert, AlertEvent, EscalationDetail, EventType
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


def escalation_to_json(d: EscalationDetail) -> dict[str, Any]:
    return {
        "tier": d.tier,
        "tier_name": d.tier_name,
        "targets": list(d.targets),
        "channels": list(d.channels),
        "reason": d.reason,
        "repeat": d.repeat,
        "next_due_at": format_ts(d.next_due_at) if d.next_due_at else None,
        "next_action": d.next_action,
        "policy_version": d.policy_version,
        "context": list(d.context),
    }


def event_detail(e: AlertEvent) -> dict[str, Any]:
    """The event's `detail` object: `worse` for updates, the notes, the escalation."""
    out: dict[str, Any] = {"worse": e.worse} if e.event is EventType.UPDATED else {}
    out.update(e.detail)
    if e.escalation is not None:
        out["escalation"] = escalation_to_json(e.escalation)
    return out


def event_to_json(e: AlertEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": e.event.value,
        "at": format_ts(e.at),
        "alert": alert_to_json(e.alert),
    }
    if e.actor:
        out["by"] = e.actor
    detail = event_detail(e)
    if detail:
        out["detail"] = detail
    return out
