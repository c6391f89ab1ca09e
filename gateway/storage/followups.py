"""Follow-up tasks of the family-doctor team, per (tenant, patient), with their due and done
times and escalation to the team lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from gateway.storage.database import Database, Transaction
from gateway.storage.record_tables import FollowupTaskRow

__all__ = ["FollowupStore", "FollowupTask", "TaskState"]


class TaskState(StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class FollowupTask:
    task_id: str
    tenant: str
    patient_id: str
    rule: str
    reason: str
    created_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None
    escalated_at: datetime | None = None
    escalated_to: str | None = None

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is None or self.created_at.tzinfo is None:
            raise ValueError("follow-up times must be timezone-aware")

    def state(self, now: datetime) -> TaskState:
        if self.done_at is not None:
            return TaskState.DONE
        return TaskState.OVERDUE if now > self.due_at else TaskState.DUE


def _of(r: FollowupTaskRow) -> FollowupTask:
    return FollowupTask(
        r.task_id, r.tenant, r.patient_id, r.rule, r.reason, r.created_at, r.due_at, r.done_at,
        r.done_by, r.note, r.escalated_at, r.escalated_to,
    )  # fmt: skip


class FollowupStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, t: FollowupTask, *, tx: Transaction | None = None) -> None:
        """Insert the task or replace every field of the stored one."""
        async with self.db.writing(tx) as s:
            row = await s.get(FollowupTaskRow, t.task_id)
            if row is None:
                row = FollowupTaskRow(task_id=t.task_id)
                s.add(row)
            row.tenant, row.patient_id, row.rule, row.reason = (
                t.tenant,
                t.patient_id,
                t.rule,
                t.reason,
            )
            row.created_at, row.due_at, row.done_at, row.done_by = (
                t.created_at, t.due_at, t.done_at, t.done_by,
            )  # fmt: skip
            row.note, row.escalated_at, row.escalated_to = t.note, t.escalated_at, t.escalated_to

    async def get(self, task_id: str, tenant: str) -> FollowupTask | None:
        async with self.db.session() as s:
            row = await s.get(FollowupTaskRow, task_id)
        return _of(row) if row is not None and row.tenant == tenant else None

    async def by_patient(self, tenant: str) -> dict[str, list[FollowupTask]]:
        """Every task of the tenant, per patient id, each patient's soonest due first (as
        `query` lists one patient's): one query for a whole sweep instead of one per elder."""
        stmt = (
            select(FollowupTaskRow)
            .where(FollowupTaskRow.tenant == tenant)
            .order_by(FollowupTaskRow.due_at, FollowupTaskRow.task_id)
        )
        out: dict[str, list[FollowupTask]] = {}
        async with self.db.session() as s:
            for row in (await s.scalars(stmt)).all():
                out.setdefault(row.patient_id, []).append(_of(row))
        return out

    async def query(
        self,
        tenant: str,
        *,
        patient_id: str | None = None,
        open_only: bool = False,
        limit: int = 1000,
    ) -> list[FollowupTask]:
        """The tenant's tasks, soonest due first."""
        stmt = select(FollowupTaskRow).where(FollowupTaskRow.tenant == tenant)
        if patient_id is not None:
            stmt = stmt.where(FollowupTaskRow.patient_id == patient_id)
        if open_only:
            stmt = stmt.where(FollowupTaskRow.done_at.is_(None))
        stmt = stmt.order_by(FollowupTaskRow.due_at, FollowupTaskRow.task_id).limit(limit)
        async with self.db.session() as s:
            return [_of(r) for r in (await s.scalars(stmt)).all()]
