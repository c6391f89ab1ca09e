"""The relational record: patients, devices, bindings, alerts and their audit, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from alerts.model import Alert, AlertEvent, Priority, State
from devices.registry import Binding, Device
from gateway.storage.database import Database
from gateway.storage.models import (
    AlertEventRow,
    AlertRow,
    BindingRow,
    DeadLetterRow,
    DeviceRow,
    PatientRow,
)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    tenant: str
    topic: str
    reason: str
    detail: str
    payload: bytes
    received_at: datetime


def _alert_from_row(r: AlertRow) -> Alert:
    return Alert(
        alert_id=r.alert_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        code=r.code,
        group=r.group,
        priority=Priority(r.priority),
        state=State(r.state),
        opened_at=r.opened_at,
        updated_at=r.updated_at,
        source_ts=r.source_ts,
        message=r.message,
        evidence=r.evidence,
        technical=r.technical,
        acknowledged_by=r.acknowledged_by,
        acknowledged_at=r.acknowledged_at,
        resolved_at=r.resolved_at,
        escalation_tier=r.escalation_tier,
        updates=r.updates,
    )


def _alert_fields(a: Alert) -> dict[str, Any]:
    return {
        "tenant": a.tenant,
        "patient_id": a.patient_id,
        "code": a.code,
        "group": a.group,
        "priority": a.priority.value,
        "state": a.state.value,
        "technical": a.technical,
        "opened_at": a.opened_at,
        "updated_at": a.updated_at,
        "source_ts": a.source_ts,
        "resolved_at": a.resolved_at,
        "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": a.acknowledged_by,
        "escalation_tier": a.escalation_tier,
        "updates": a.updates,
        "message": dict(a.message),
        "evidence": dict(a.evidence),
    }


class RecordStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- patients -------------------------------------------------------------------------
    async def upsert_patient(
        self, patient_id: str, tenant: str, now: datetime, **fields: Any
    ) -> PatientRow:
        async with self.db.session() as s, s.begin():
            row = await s.get(PatientRow, patient_id)
            if row is None:
                row = PatientRow(patient_id=patient_id, tenant=tenant, created_at=now, targets={})
                s.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
        return row

    async def get_patient(self, patient_id: str) -> PatientRow | None:
        async with self.db.session() as s:
            return await s.get(PatientRow, patient_id)

    async def list_patients(self, tenant: str | None = None) -> list[PatientRow]:
        stmt = select(PatientRow).order_by(PatientRow.patient_id)
        if tenant:
            stmt = stmt.where(PatientRow.tenant == tenant)
        async with self.db.session() as s:
            return list((await s.scalars(stmt)).all())

    # -- devices --------------------------------------------------------------------------
    async def save_device(self, device: Device, now: datetime) -> None:
        """Insert or replace a device and its binding history; binds create missing patients."""
        async with self.db.session() as s, s.begin():
            row = await s.get(DeviceRow, device.device_id)
            if row is None:
                row = DeviceRow(device_id=device.device_id, created_at=now)
                s.add(row)
            row.tenant, row.kind, row.kiosk = device.tenant, device.kind, device.kiosk
            row.retired_at = device.retired_at
            await s.flush()
            old = (
                await s.scalars(select(BindingRow).where(BindingRow.device_id == device.device_id))
            ).all()
            for old_row in old:
                await s.delete(old_row)
            for b in device.bindings:
                s.add(
                    BindingRow(device_id=device.device_id, patient_id=b.patient_id, since=b.since)
                )
                if await s.get(PatientRow, b.patient_id) is None:
                    s.add(
                        PatientRow(
                            patient_id=b.patient_id,
                            tenant=device.tenant,
                            created_at=now,
                            targets={},
                        )
                    )

    async def load_devices(self) -> list[Device]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(DeviceRow))).all()
            binds = (await s.scalars(select(BindingRow).order_by(BindingRow.since))).all()
        by_dev: dict[str, list[Binding]] = {}
        for brow in binds:
            by_dev.setdefault(brow.device_id, []).append(Binding(brow.patient_id, brow.since))
        return [
            Device(
                r.device_id,
                r.tenant,
                r.kind,
                kiosk=r.kiosk,
                retired_at=r.retired_at,
                bindings=tuple(by_dev.get(r.device_id, ())),
            )
            for r in rows
        ]

    # -- alerts ---------------------------------------------------------------------------
    async def save_events(self, events: Sequence[AlertEvent], client: str | None = None) -> None:
        """Persist alert states and append each transition to the audit trail, in one commit."""
        if not events:
            return
        async with self.db.session() as s, s.begin():
            for e in events:
                a = e.alert
                row = await s.get(AlertRow, a.alert_id)
                if row is None:
                    s.add(AlertRow(alert_id=a.alert_id, **_alert_fields(a)))
                    await s.flush()
                else:
                    for key, value in _alert_fields(a).items():
                        setattr(row, key, value)
                s.add(
                    AlertEventRow(
                        alert_id=a.alert_id,
                        event=e.event.value,
                        at=e.at,
                        actor=e.actor,
                        client=client,
                        detail=dict(e.detail),
                    )
                )

    async def active_alerts(self, tenant: str | None = None) -> list[Alert]:
        stmt = select(AlertRow).where(AlertRow.state != State.RESOLVED.value)
        if tenant:
            stmt = stmt.where(AlertRow.tenant == tenant)
        async with self.db.session() as s:
            return [_alert_from_row(r) for r in (await s.scalars(stmt)).all()]

    async def get_alert(self, alert_id: str) -> Alert | None:
        async with self.db.session() as s:
            row = await s.get(AlertRow, alert_id)
        return _alert_from_row(row) if row else None

    async def list_alerts(
        self,
        *,
        patient_id: str | None = None,
        state: str | None = None,
        priority: str | None = None,
        code: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        stmt = select(AlertRow)
        for col, value in (
            (AlertRow.patient_id, patient_id),
            (AlertRow.state, state),
            (AlertRow.priority, priority),
            (AlertRow.code, code),
        ):
            if value is not None:
                stmt = stmt.where(col == value)
        if since is not None:
            stmt = stmt.where(AlertRow.opened_at >= since)
        if until is not None:
            stmt = stmt.where(AlertRow.opened_at < until)
        stmt = stmt.order_by(AlertRow.opened_at.desc()).limit(limit)
        async with self.db.session() as s:
            return [_alert_from_row(r) for r in (await s.scalars(stmt)).all()]

    async def alert_events(self, alert_id: str) -> list[AlertEventRow]:
        stmt = (
            select(AlertEventRow)
            .where(AlertEventRow.alert_id == alert_id)
            .order_by(AlertEventRow.id)
        )
        async with self.db.session() as s:
            return list((await s.scalars(stmt)).all())

    # -- dead letters ---------------------------------------------------------------------
    async def save_deadletters(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        async with self.db.session() as s, s.begin():
            s.add_all(
                DeadLetterRow(
                    tenant=d.tenant,
                    topic=d.topic,
                    reason=d.reason,
                    detail=d.detail,
                    payload=d.payload,
                    received_at=d.received_at,
                )
                for d in letters
            )

    async def list_deadletters(
        self, tenant: str | None = None, reason: str | None = None, limit: int = 200
    ) -> list[DeadLetterRow]:
        stmt = select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit)
        if tenant:
            stmt = stmt.where(DeadLetterRow.tenant == tenant)
        if reason:
            stmt = stmt.where(DeadLetterRow.reason == reason)
        async with self.db.session() as s:
            return list((await s.scalars(stmt)).all())

    async def count_deadletters(self) -> int:
        async with self.db.session() as s:
            return int((await s.scalar(select(func.count(DeadLetterRow.id)))) or 0)
