"""Reading centres and consultation requests: domain values in, domain values out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from alerts.consult import Centre, ConsultPriority, ConsultRequest, EcgWindow, Report, Status
from gateway.storage.consult_rows import ConsultCentreRow, ConsultRequestRow
from gateway.storage.database import Database, Transaction


def _centre(r: ConsultCentreRow) -> Centre:
    c = r.config
    return Centre(
        centre_id=r.centre_id,
        name=r.name,
        cardiologists=tuple(c.get("cardiologists", ())),
        lead=r.lead,
        senders=frozenset(c.get("senders", ())),
        deadlines=MappingProxyType(
            {ConsultPriority(k): timedelta(seconds=float(v)) for k, v in c["deadlines"].items()}
        ),
        lease=timedelta(seconds=float(c.get("lease_s", 1800))),
    )


def report_json(r: Report) -> dict[str, Any]:
    return {
        "version": r.version,
        "findings": list(r.findings),
        "text": r.text,
        "measurements": dict(r.measurements),
        "critical": r.critical,
        "signed_by": r.signed_by,
        "signed_at": r.signed_at.isoformat(),
    }


def _report(d: Mapping[str, Any]) -> Report:
    return Report(
        version=int(d["version"]),
        findings=tuple(d["findings"]),
        text=str(d["text"]),
        measurements=MappingProxyType({k: float(v) for k, v in d["measurements"].items()}),
        critical=bool(d["critical"]),
        signed_by=str(d["signed_by"]),
        signed_at=datetime.fromisoformat(d["signed_at"]),
    )


def ecg_json(w: EcgWindow) -> dict[str, Any]:
    return {
        "device_id": w.device_id,
        "lead": w.lead,
        "fs": w.fs,
        "start": w.start.isoformat(),
        "samples": list(w.samples),
        "beats": list(w.beats),
        "labels": list(w.labels),
        "episodes": [dict(e) for e in w.episodes],
        "heart_rate": w.heart_rate,
    }


def _ecg(d: Mapping[str, Any]) -> EcgWindow:
    return EcgWindow(
        device_id=str(d["device_id"]),
        lead=str(d["lead"]),
        fs=float(d["fs"]),
        start=datetime.fromisoformat(d["start"]),
        samples=tuple(float(v) for v in d["samples"]),
        beats=tuple(int(b) for b in d["beats"]),
        labels=tuple(d.get("labels", ())),
        episodes=tuple(MappingProxyType(dict(e)) for e in d.get("episodes", ())),
        heart_rate=d.get("heart_rate"),
    )


def _request(r: ConsultRequestRow, ecg: bool) -> ConsultRequest:
    rec = r.record or {}
    window = _ecg(r.ecg) if ecg else EcgWindow("", "", 1.0, r.requested_at, (), ())
    return ConsultRequest(
        request_id=r.request_id,
        centre_id=r.centre_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        alert_id=r.alert_id,
        priority=ConsultPriority(r.priority),
        proposed=ConsultPriority(r.proposed),
        question=r.question,
        requested_by=r.requested_by,
        requested_at=r.requested_at,
        due_at=r.due_at,
        ecg=window,
        status=Status(r.status),
        claimed_by=r.claimed_by,
        claimed_at=r.claimed_at,
        lease_until=r.lease_until,
        first_claimed_at=r.first_claimed_at,
        report=_report(rec["report"]) if rec.get("report") else None,
        amendments=tuple(_report(a) for a in rec.get("amendments", ())),
        receipt_by=r.receipt_by,
        receipt_at=r.receipt_at,
        escalation_id=r.escalation_id,
        report_alert_id=r.report_alert_id,
        updated_at=r.updated_at,
        history=tuple(MappingProxyType(dict(h)) for h in rec.get("history", ())),
    )


def _steps(r: ConsultRequestRow) -> int:
    """How many steps the stored request has taken (its version)."""
    return len((r.record or {}).get("history", ()))


class StaleRequestError(Exception):
    """The request changed since it was read (another step came first)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id


class ConsultStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- centres --------------------------------------------------------------------------
    async def save_centre(self, c: Centre, now: datetime, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            row = await s.get(ConsultCentreRow, c.centre_id)
            if row is None:
                row = ConsultCentreRow(centre_id=c.centre_id)
                s.add(row)
            row.name, row.lead, row.updated_at = c.name, c.lead, now
            row.config = {
                "cardiologists": list(c.cardiologists),
                "senders": sorted(c.senders),
                "deadlines": {p.value: d.total_seconds() for p, d in c.deadlines.items()},
                "lease_s": c.lease.total_seconds(),
            }

    async def centre(self, centre_id: str) -> Centre | None:
        async with self.db.session() as s:
            row = await s.get(ConsultCentreRow, centre_id)
        return _centre(row) if row is not None else None

    async def centres(self) -> list[Centre]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(ConsultCentreRow))).all()
        return [_centre(r) for r in rows]

    # -- requests -------------------------------------------------------------------------
    async def save(
        self,
        q: ConsultRequest,
        *,
        tx: Transaction | None = None,
        expect: ConsultRequest | None = None,
    ) -> None:
        """Insert or replace a request (its ECG is written once, at insert). With `expect`, the
        stored request must still be that one (the row is locked while it is compared), else
        `StaleRequestError`: two cardiologists claiming at once do not both get it."""
        async with self.db.writing(tx) as s:
            stmt = select(ConsultRequestRow).where(ConsultRequestRow.request_id == q.request_id)
            row = (await s.scalars(stmt.with_for_update())).one_or_none()
            if expect is not None and (row is None or _steps(row) != len(expect.history)):
                raise StaleRequestError(q.request_id)
            if row is None:
                row = ConsultRequestRow(request_id=q.request_id, ecg=ecg_json(q.ecg))
                s.add(row)
            row.centre_id, row.tenant, row.patient_id = q.centre_id, q.tenant, q.patient_id
            row.alert_id, row.status = q.alert_id, q.status.value
            row.priority, row.proposed, row.question = (
                q.priority.value,
                q.proposed.value,
                q.question,
            )
            row.requested_by, row.requested_at, row.due_at = (
                q.requested_by,
                q.requested_at,
                q.due_at,
            )
            row.claimed_by, row.claimed_at, row.lease_until = (
                q.claimed_by,
                q.claimed_at,
                q.lease_until,
            )
            row.first_claimed_at, row.final_at = q.first_claimed_at, q.final_at
            row.receipt_by, row.receipt_at = q.receipt_by, q.receipt_at
            row.escalation_id, row.report_alert_id = q.escalation_id, q.report_alert_id
            row.updated_at = q.updated_at
            row.record = {
                "report": report_json(q.report) if q.report else None,
                "amendments": [report_json(a) for a in q.amendments],
                "history": [dict(h) for h in q.history],
            }

    async def get(self, request_id: str, *, ecg: bool = True) -> ConsultRequest | None:
        async with self.db.session() as s:
            row = await s.get(ConsultRequestRow, request_id)
        return _request(row, ecg) if row is not None else None

    async def query(
        self,
        *,
        centre_id: str | None = None,
        tenant: str | None = None,
        patient_id: str | None = None,
        alert_id: str | None = None,
        open_only: bool = False,
        limit: int = 500,
    ) -> list[ConsultRequest]:
        """Requests by deadline (soonest first), without their ECG samples."""
        stmt = (
            select(ConsultRequestRow)
            .options(defer(ConsultRequestRow.ecg))
            .order_by(ConsultRequestRow.due_at)
            .limit(limit)
        )
        if centre_id is not None:
            stmt = stmt.where(ConsultRequestRow.centre_id == centre_id)
        if tenant is not None:
            stmt = stmt.where(ConsultRequestRow.tenant == tenant)
        if patient_id is not None:
            stmt = stmt.where(ConsultRequestRow.patient_id == patient_id)
        if alert_id is not None:
            stmt = stmt.where(ConsultRequestRow.alert_id == alert_id)
        if open_only:
            stmt = stmt.where(ConsultRequestRow.status.in_(["requested", "claimed"]))
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [_request(r, ecg=False) for r in rows]
