"""Notification deliveries: every attempt series on every channel, with its receipt or error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.storage.database import Database, Transaction
from gateway.storage.tables import DeliveryRow


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification of one alert event on one channel to one target."""

    key: str  # idempotency key of the event: the same for every attempt and recipient
    alert_id: str
    event: str
    channel: str
    target: str
    status: str  # delivered | failed
    attempts: int
    at: datetime
    error: str | None = None
    receipt: Mapping[str, Any] = field(default_factory=dict)


def _delivery_of(r: DeliveryRow) -> Delivery:
    return Delivery(
        r.idempotency_key, r.alert_id, r.event, r.channel, r.target, r.status,
        r.attempts, r.at, r.error, r.receipt,
    )  # fmt: skip


def delivery_row(d: Delivery) -> DeliveryRow:
    """The log row of a delivery (written here and with the outbox's delivery marks,
    `gateway.storage.outbox.OutboxStore.settle`)."""
    return DeliveryRow(
        idempotency_key=d.key, alert_id=d.alert_id, event=d.event, channel=d.channel,
        target=d.target, status=d.status, attempts=d.attempts, at=d.at, error=d.error,
        receipt=dict(d.receipt),
    )  # fmt: skip


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, d: Delivery, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            s.add(delivery_row(d))

    async def of_alert(self, alert_id: str) -> list[Delivery]:
        """Every delivery of the alert's events, oldest first."""
        stmt = select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.id)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [
            Delivery(
                r.idempotency_key,
                r.alert_id,
                r.event,
                r.channel,
                r.target,
                r.status,
                r.attempts,
                r.at,
                r.error,
                r.receipt,
            )
            for r in rows
        ]
