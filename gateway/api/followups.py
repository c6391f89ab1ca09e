"""Follow-ups of the family-doctor team: the tenant's tasks with due / overdue / done state,
marking one done (audited; the next routine one is planned), and the FHIR `Task` of each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from devices.model import PatientKey
from gateway.api.deps import FollowupsDep, ReadsDep
from gateway.api.fhir_record import FhirJSON, FhirResourceOut
from gateway.api.security import CurrentActor
from gateway.errors import NotFoundError
from gateway.followup.fhir import to_task
from gateway.storage.followups import FollowupTask, TaskState

router = APIRouter(prefix="/followups", tags=["followups"])


class FollowupOut(BaseModel):
    task_id: str
    patient_id: str
    rule: str
    reason: str
    state: TaskState
    created_at: datetime
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str | None
    escalated_at: datetime | None
    escalated_to: str | None

    @classmethod
    def of(cls, t: FollowupTask, now: datetime) -> FollowupOut:
        return cls(
            task_id=t.task_id, patient_id=t.patient_id, rule=t.rule, reason=t.reason,
            state=t.state(now), created_at=t.created_at, due_at=t.due_at, done_at=t.done_at,
            done_by=t.done_by, note=t.note, escalated_at=t.escalated_at,
            escalated_to=t.escalated_to,
        )  # fmt: skip


class DoneIn(BaseModel):
    note: str | None = Field(None, max_length=1000)


@router.get("")
async def list_followups(
    reads: ReadsDep,
    actor: CurrentActor,
    state: TaskState | None = None,
    patient_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[FollowupOut]:
    """The tenant's follow-ups, soonest due first (`state` due, overdue or done)."""
    now = reads.now()
    found = await reads.stores.followups.query(
        actor.tenant, patient_id=patient_id, open_only=state in (TaskState.DUE, TaskState.OVERDUE)
    )
    shown = [t for t in found if state is None or t.state(now) is state]
    return [FollowupOut.of(t, now) for t in shown[:limit]]


@router.post("/{task_id}/done")
async def mark_done(
    desk: FollowupsDep, reads: ReadsDep, actor: CurrentActor, task_id: str, body: DoneIn
) -> FollowupOut:
    """The follow-up took place (audited); the elder's next routine follow-up is planned."""
    t = await desk.complete(actor, task_id, body.note)
    return FollowupOut.of(t, reads.now())


@router.get("/{task_id}/fhir", response_model=FhirResourceOut, response_class=FhirJSON)
async def task_fhir(reads: ReadsDep, actor: CurrentActor, task_id: str) -> FhirJSON:
    """The follow-up as a FHIR R4 Task."""
    t = await reads.stores.followups.get(task_id, actor.tenant)
    if t is None:
        raise NotFoundError("follow-up", task_id)
    p = await reads.stores.patients.get_patient(PatientKey(actor.tenant, t.patient_id))
    roster = await reads.stores.rosters.roster(actor.tenant)
    team = roster.teams.get(p.care_team or "") if p is not None else None
    return FhirJSON(to_task(t, datetime.now(UTC), team.name if team else None))
