"""Pending escalation timers, one per active alert, so escalation survives a restart."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from alerts.escalation import EscalationState
from alerts.model import Priority
from gateway.storage.database import Database, Transaction
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
            for alert_id in deleted:
                row = await s.get(EscalationTimerRow, alert_id)
                if row is not None:
                    await s.delete(row)
            for t in upserts:
                row = await s.get(EscalationTimerRow, t.alert_id)
                if row is None:
                    row = EscalationTimerRow(alert_id=t.alert_id)
                    s.add(row)
                row.tenant, row.patient_id, row.group = t.tenant, t.patient_id, t.group
                row.priority, row.tier, row.due_at = t.priority.value, t.tier, t.due_at
                row.reason, row.repeats, row.flags = t.reason, t.repeats, sorted(t.flags)
                row.policy_version = t.policy_version

    async def load(self) -> list[EscalationState]:
        async with self.db.session() as s:
            return [_timer_of(r) for r in (await s.scalars(select(EscalationTimerRow))).all()]
