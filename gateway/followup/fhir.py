"""A follow-up task as a FHIR R4 `Task` for the family-doctor team.

`status` requested (open) or completed; `businessStatus` due / overdue / done; `intent` plan;
`priority` urgent for out-of-target follow-ups; the due date in `restriction.period.end`, the
team as `owner` and, once escalated, the team lead in `note`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from devices.timeparse import format_ts
from gateway.fhir.problems import KNOWN, SNOMED
from gateway.fhir.resources import fhir_id, ref
from gateway.followup.rules import UNCONTROLLED
from gateway.storage.followups import FollowupTask, TaskState

__all__ = ["to_task"]

_FOLLOW_UP: Final = {"system": SNOMED, "code": "390906007", "display": "Follow-up encounter"}
_REASON: Final = {f"{k.key}.routine": k for k in KNOWN}


def to_task(t: FollowupTask, now: datetime, team: str | None = None) -> dict[str, Any]:
    state = t.state(now)
    out: dict[str, Any] = {
        "resourceType": "Task",
        "id": fhir_id(t.task_id),
        "identifier": [{"system": f"urn:hmg:{t.tenant}:followup", "value": t.task_id}],
        "status": "completed" if state is TaskState.DONE else "requested",
        "businessStatus": {"text": state.value},
        "intent": "plan",
        "priority": "urgent" if t.rule == UNCONTROLLED else "routine",
        "code": {"coding": [_FOLLOW_UP], "text": t.rule},
        "description": t.reason,
        "for": ref("Patient", t.patient_id),
        "authoredOn": format_ts(t.created_at),
        "restriction": {"period": {"end": format_ts(t.due_at)}},
    }
    known = _REASON.get(t.rule)
    if known is not None:
        out["reasonCode"] = {
            "coding": [{"system": SNOMED, "code": known.snomed, "display": known.display}]
        }
    if team:
        out["owner"] = {"display": team}
    if t.done_at is not None:
        out["executionPeriod"] = {"end": format_ts(t.done_at)}
        out["lastModified"] = format_ts(t.done_at)
    notes = []
    if t.escalated_to:
        assert t.escalated_at is not None
        notes.append(
            {"time": format_ts(t.escalated_at), "text": f"overdue: escalated to {t.escalated_to}"}
        )
    if t.note:
        notes.append({"text": t.note})
    if notes:
        out["note"] = notes
    return out
