"""Pending escalation timers, one per active alert, so escalation survives a restart.

An alert change writes its timers with its events (`gateway.storage.record.AlertRecord`); this
store loads them, and writes those that move on their own (a restart's re-arming)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from alerts.escalation import EscalationState
from alerts.model import Priority
from gateway.storage.database import Database, Transaction
from gateway.storage.record import save_timers
from gateway.storage.tables import EscalationTimerRow


def _timer_of(r: EscalationTimerRow) -> EscalationState:
    return EscalationState(
        alert_id=r.alert_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        group=r.group,
        priority=Priority(r.priority),
        tier=r.tier,
        due_at=r.due_at,
        reason=r.reason,
        repeats=r.repeats,
        flags=frozenset(r.flags),
        policy_version=r.policy_version,
    )


class TimerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self,
        upserts: Sequence[EscalationState],
        deleted: Sequence[str],
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Replace the changed timers and drop the deleted ones (by alert id)."""
        async with self.db.writing(tx) as s:
            await save_timers(s, upserts, deleted)

    async def load(self) -> list[EscalationState]:
        async with self.db.session() as s:
            return [_timer_of(r) for r in (await s.scalars(select(EscalationTimerRow))).all()]
