"""API shapes of remote ECG consultation (requests, reports, centres, figures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, Field

from alerts.consult import (
    DEFAULT_DEADLINES,
    FINDINGS,
    Centre,
    ConsultPriority,
    ConsultRequest,
    Reading,
    Report,
    Turnaround,
)
from devices.timeparse import format_ts


def _ts(at: datetime | None) -> str | None:
    return format_ts(at) if at is not None else None


class CentreIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    cardiologists: list[str] = Field(min_length=1, max_length=50)
    lead: str = Field(min_length=1, max_length=128)
    senders: list[str] = Field(default_factory=list, max_length=200)
    deadlines_min: dict[ConsultPriority, float] = Field(default_factory=dict)
    lease_min: float = Field(default=30, gt=0, le=24 * 60)

    def centre(self, centre_id: str) -> Centre:
        base = {p: timedelta(minutes=m) for p, m in self.deadlines_min.items()}
        return Centre(
            centre_id, self.name, tuple(self.cardiologists), self.lead, frozenset(self.senders),
            MappingProxyType({**DEFAULT_DEADLINES, **base}), timedelta(minutes=self.lease_min),
        )  # fmt: skip


class CentreOut(BaseModel):
    centre_id: str
    name: str
    cardiologists: list[str]
    lead: str
    senders: list[str]
    deadlines_min: dict[str, float]

    @classmethod
    def of(cls, c: Centre, *, roster: bool = True) -> CentreOut:
        return cls(
            centre_id=c.centre_id,
            name=c.name,
            cardiologists=list(c.cardiologists) if roster else [],
            lead=c.lead if roster else "",
            senders=sorted(c.senders) if roster else [],
            deadlines_min={p.value: d.total_seconds() / 60 for p, d in c.deadlines.items()},
        )


class RequestIn(BaseModel):
    patient_id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=2000)
    alert_id: str | None = Field(default=None, max_length=64)
    centre_id: str | None = Field(default=None, max_length=64)
    start: datetime | None = None
    end: datetime | None = None
    device_id: str | None = Field(default=None, max_length=64)
    priority: ConsultPriority | None = None


class ReportIn(BaseModel):
    findings: list[str] = Field(default_factory=list, max_length=30)
    text: str = Field(default="", max_length=5000)
    measurements: dict[str, float] = Field(default_factory=dict)
    critical: bool = False

    def reading(self) -> Reading:
        return Reading(tuple(self.findings), self.text, dict(self.measurements), self.critical)


class ReportOut(BaseModel):
    version: int
    findings: list[dict[str, Any]]
    text: str
    measurements: dict[str, float]
    critical: bool
    signed_by: str
    signed_at: str

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        found = []
        for code in r.findings:
            f = FINDINGS[code]
            found.append({"code": code, "en": f.en, "zh": f.zh, "snomed": f.snomed})
        return cls(
            version=r.version, findings=found, text=r.text, measurements=dict(r.measurements),
            critical=r.critical, signed_by=r.signed_by, signed_at=format_ts(r.signed_at),
        )  # fmt: skip


class EcgOut(BaseModel):
    device_id: str
    lead: str
    fs: float
    start: str
    unit: str = "mV"
    samples: list[float]
    gaps: list[tuple[int, float]] = []
    beats: list[int]
    labels: list[str]
    episodes: list[dict[str, Any]]
    heart_rate: float | None


class ConsultOut(BaseModel):
    request_id: str
    centre_id: str
    tenant: str
    patient_id: str
    alert_id: str | None
    status: str
    priority: str
    proposed: str
    question: str
    requested_by: str
    requested_at: str
    due_at: str
    claimed_by: str | None
    holder: str | None  # who holds the claim now (None: free, or the lease ended)
    lease_until: str | None
    report: ReportOut | None
    amendments: list[ReportOut]
    receipt_by: str | None
    receipt_at: str | None
    window: dict[str, str | None]
    ecg: EcgOut | None = None
    previous: list[ConsultOut] = []

    @classmethod
    def of(cls, q: ConsultRequest, *, ecg: bool = False, now: datetime | None = None) -> ConsultOut:
        w = q.ecg
        holder = q.holder(now) if now is not None else q.claimed_by
        return cls(
            request_id=q.request_id, centre_id=q.centre_id, tenant=q.tenant,
            patient_id=q.patient_id, alert_id=q.alert_id, status=q.status.value,
            priority=q.priority.value, proposed=q.proposed.value, question=q.question,
            requested_by=q.requested_by, requested_at=format_ts(q.requested_at),
            due_at=format_ts(q.due_at), claimed_by=q.claimed_by, holder=holder,
            lease_until=_ts(q.lease_until), report=ReportOut.of(q.report) if q.report else None,
            amendments=[ReportOut.of(a) for a in q.amendments], receipt_by=q.receipt_by,
            receipt_at=_ts(q.receipt_at),
            window={"start": _ts(w.start) if w.samples else None,
                    "end": _ts(w.end) if w.samples else None, "device_id": w.device_id or None},
            ecg=EcgOut(
                device_id=w.device_id, lead=w.lead, fs=w.fs, start=format_ts(w.start),
                samples=list(w.samples), beats=list(w.beats), labels=list(w.labels),
                episodes=[dict(e) for e in w.episodes], heart_rate=w.heart_rate,
            ) if ecg else None,
        )  # fmt: skip


class FigureOut(BaseModel):
    centre_id: str
    priority: str
    requests: int
    reported: int
    median_claim_min: float | None
    median_final_min: float | None
    within_deadline: float | None

    @classmethod
    def of(cls, t: Turnaround) -> FigureOut:
        return cls(
            centre_id=t.centre_id, priority=t.priority.value, requests=t.requests,
            reported=t.reported, median_claim_min=t.median_claim_min,
            median_final_min=t.median_final_min, within_deadline=t.within_deadline,
        )  # fmt: skip


class FindingOut(BaseModel):
    code: str
    group: str
    en: str
    zh: str
    snomed: str | None


def findings() -> list[FindingOut]:
    return [
        FindingOut(code=f.code, group=f.group.value, en=f.en, zh=f.zh, snomed=f.snomed)
        for f in FINDINGS.values()
    ]
