"""Service figures of emergency calls, from the stored alert trails: how fast each call of a
period was answered (acknowledged) and attended (help confirmed on site)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from alerts.model import EventType
from gateway.storage.database import Database
from gateway.storage.tables import AlertEventRow, AlertRow

EMERGENCY_PREFIX = "emergency."


@dataclass(frozen=True, slots=True)
class CallTimes:
    """One call: seconds from opening to its answer, dispatch and arrival (None: never)."""

    alert_id: str
    answer_s: float | None
    dispatched: bool
    on_site_s: float | None


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    """The calls of a tenant opened in [start, end); a fall the wearer cancelled before anyone
    answered is not counted (nobody had to answer it)."""

    tenant: str
    start: datetime
    end: datetime
    times: tuple[CallTimes, ...]

    @property
    def calls(self) -> int:
        return len(self.times)

    @property
    def answered(self) -> int:
        return sum(t.answer_s is not None for t in self.times)

    @property
    def attended(self) -> int:
        return sum(t.on_site_s is not None for t in self.times)

    def share_answered(self, within_s: float) -> float | None:
        """Of all calls, those answered within `within_s` seconds of opening."""
        if not self.times:
            return None
        ok = sum(t.answer_s is not None and t.answer_s <= within_s for t in self.times)
        return ok / len(self.times)

    def share_on_site(self, within_s: float) -> float | None:
        """Of the calls help was sent to (or arrived at), those with help on site within
        `within_s` seconds of the call."""
        sent = [t for t in self.times if t.dispatched or t.on_site_s is not None]
        if not sent:
            return None
        return sum(t.on_site_s is not None and t.on_site_s <= within_s for t in sent) / len(sent)

    @property
    def median_answer_s(self) -> float | None:
        got = [t.answer_s for t in self.times if t.answer_s is not None]
        return float(statistics.median(got)) if got else None

    @property
    def median_on_site_min(self) -> float | None:
        got = [t.on_site_s / 60 for t in self.times if t.on_site_s is not None]
        return float(statistics.median(got)) if got else None


class EmergencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def figures(self, tenant: str, start: datetime, end: datetime) -> ServiceFigures:
        calls = (
            select(AlertRow.alert_id, AlertRow.opened_at)
            .where(AlertRow.tenant == tenant)
            .where(AlertRow.code.startswith(EMERGENCY_PREFIX))
            .where(AlertRow.opened_at >= start, AlertRow.opened_at < end)
        )
        kinds = [
            e.value
            for e in (EventType.ACKNOWLEDGED, EventType.DISPATCHED, EventType.ARRIVED,
                      EventType.RESOLVED)
        ]  # fmt: skip
        async with self.db.session() as s:
            opened = {r.alert_id: r.opened_at for r in (await s.execute(calls)).all()}
            trail = (
                await s.execute(
                    select(
                        AlertEventRow.alert_id,
                        AlertEventRow.event,
                        AlertEventRow.at,
                        AlertEventRow.detail,
                    )
                    .where(AlertEventRow.alert_id.in_(calls.with_only_columns(AlertRow.alert_id)))
                    .where(AlertEventRow.event.in_(kinds))
                    .order_by(AlertEventRow.id)
                )
            ).all()
        first: dict[tuple[str, str], datetime] = {}
        cancelled: set[str] = set()
        for alert_id, event, at, detail in trail:
            first.setdefault((alert_id, event), at)
            answered = (alert_id, EventType.ACKNOWLEDGED.value) in first
            outcome = (detail or {}).get("outcome")
            if event == EventType.RESOLVED.value and not answered and outcome == "cancelled":
                cancelled.add(alert_id)

        def after(alert_id: str, kind: EventType) -> float | None:
            at = first.get((alert_id, kind.value))
            return (at - opened[alert_id]).total_seconds() if at is not None else None

        times = tuple(
            CallTimes(
                a,
                after(a, EventType.ACKNOWLEDGED),
                (a, EventType.DISPATCHED.value) in first,
                after(a, EventType.ARRIVED),
            )
            for a in sorted(opened)
            if a not in cancelled
        )
        return ServiceFigures(tenant, start, end, times)
