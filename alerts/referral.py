"""Referrals: a tracked hand-over of an alert's patient to a hospital, and its FHIR R4 form.

States: `requested` -> `accepted` -> `completed`, or `requested`/`accepted` -> `declined`.
The evidence snapshot (recent readings, ECG strip reference) is frozen at request time so the
receiving department sees what the clinician saw.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from devices.timeparse import format_ts, parse_ts


class ReferralState(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    DECLINED = "declined"


class Urgency(enum.StrEnum):
    """FHIR `request-priority` codes."""

    ROUTINE = "routine"
    URGENT = "urgent"
    ASAP = "asap"
    STAT = "stat"


_NEXT: Final = {
    ReferralState.REQUESTED: {ReferralState.ACCEPTED, ReferralState.DECLINED},
    ReferralState.ACCEPTED: {ReferralState.COMPLETED, ReferralState.DECLINED},
    ReferralState.COMPLETED: set(),
    ReferralState.DECLINED: set(),
}
# FHIR ServiceRequest.status for each referral state.
_FHIR_STATUS: Final = {
    ReferralState.REQUESTED: "active",
    ReferralState.ACCEPTED: "active",
    ReferralState.COMPLETED: "completed",
    ReferralState.DECLINED: "revoked",
}
_NS = uuid.UUID("0b7f1c64-3d1a-4f0e-8c55-9a3e6c2b1d70")


class ReferralTransitionError(ValueError):
    def __init__(self, referral_id: str, state: ReferralState, to: ReferralState) -> None:
        super().__init__(f"referral {referral_id}: cannot go from {state} to {to}")
        self.referral_id = referral_id
        self.state = state
        self.to = to


def _ts(doc: Mapping[str, Any], key: str) -> datetime | None:
    value = doc.get(key)
    return parse_ts(value) if isinstance(value, str) else None


def _fmt(ts: datetime | None) -> str | None:
    return format_ts(ts) if ts is not None else None


@dataclass(frozen=True, slots=True)
class EvidenceReading:
    """A reading frozen into a referral; the hospital's copy names it as an Observation."""

    id: str
    display: str = ""
    kind: str = ""
    ts: datetime | None = None
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EcgStripRef:
    """Where the patient's latest ECG strip before the referral is found."""

    ref: str
    device_id: str = ""
    ts: datetime | None = None
    fs: float | None = None
    lead: str = ""


@dataclass(frozen=True, slots=True)
class ReferralEvidence:
    """What a referral carries to the hospital, frozen at the request: the alert (`alert`: its
    code, priority and message; `alert_evidence`: its own evidence), the recent readings, the
    latest ECG strip and the window they were taken from. Stored and served as the JSON
    object of `to_json`."""

    alert: Mapping[str, Any] = field(default_factory=dict)
    alert_evidence: Mapping[str, Any] = field(default_factory=dict)
    readings: tuple[EvidenceReading, ...] = ()
    ecg_strip: EcgStripRef | None = None
    start: datetime | None = None
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        ecg = self.ecg_strip
        return {
            "alert": dict(self.alert),
            "alert_evidence": dict(self.alert_evidence),
            "readings": [
                {"id": r.id, "kind": r.kind, "ts": _fmt(r.ts), "values": dict(r.values),
                 "display": r.display}
                for r in self.readings
            ],
            "ecg_strip": None if ecg is None else {
                "ref": ecg.ref, "device_id": ecg.device_id, "ts": _fmt(ecg.ts), "fs": ecg.fs,
                "lead": ecg.lead,
            },
            "window": {"start": _fmt(self.start), "end": _fmt(self.end)},
        }  # fmt: skip

    @classmethod
    def of_json(cls, doc: Mapping[str, Any]) -> ReferralEvidence:
        """The evidence stored as `doc` (`to_json`; what a field lacks is left empty)."""
        readings = tuple(
            EvidenceReading(
                str(r["id"]), str(r.get("display") or ""), str(r.get("kind") or ""),
                _ts(r, "ts"), dict(r.get("values") or {}),
            )
            for r in doc.get("readings") or ()
            if isinstance(r, Mapping) and r.get("id") is not None
        )  # fmt: skip
        e = doc.get("ecg_strip")
        ecg = None
        if isinstance(e, Mapping) and e.get("ref"):
            fs = e.get("fs")
            ecg = EcgStripRef(
                str(e["ref"]), str(e.get("device_id") or ""), _ts(e, "ts"),
                float(fs) if fs is not None else None, str(e.get("lead") or ""),
            )  # fmt: skip
        window = doc.get("window") or {}
        return cls(
            dict(doc.get("alert") or {}), dict(doc.get("alert_evidence") or {}), readings, ecg,
            _ts(window, "start"), _ts(window, "end"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Referral:
    referral_id: str
    alert_id: str
    tenant: str
    patient_id: str
    target_org: str
    department: str
    reason: str
    urgency: Urgency
    green_channel: bool
    requested_by: str
    requested_at: datetime
    state: ReferralState = ReferralState.REQUESTED
    updated_at: datetime | None = None
    updated_by: str | None = None
    note: str | None = None
    evidence: ReferralEvidence = field(default_factory=ReferralEvidence)

    def __post_init__(self) -> None:
        if self.requested_at.tzinfo is None:
            raise ValueError("requested_at must be timezone-aware")
        if not self.target_org:
            raise ValueError("a referral needs a target organisation")


def referral_id_for(alert_id: str, requested_at: datetime) -> str:
    return str(uuid.uuid5(_NS, f"{alert_id}|{requested_at.isoformat()}"))


def transition(
    r: Referral, to: ReferralState, by: str, now: datetime, note: str | None = None
) -> Referral:
    if to not in _NEXT[r.state]:
        raise ReferralTransitionError(r.referral_id, r.state, to)
    return replace(r, state=to, updated_at=now, updated_by=by, note=note or r.note)


def to_fhir(r: Referral) -> dict[str, Any]:
    """FHIR R4 ServiceRequest (intent `order`, category referral, SNOMED 3457005)."""
    notes = [{"text": r.note}] if r.note else []
    if r.green_channel:
        notes.append({"text": "Green channel: priority admission (绿色通道)"})
    evidence_refs = [
        {"reference": f"Observation/{obs.id}", "display": obs.display or None}
        for obs in r.evidence.readings
    ]
    if (ecg := r.evidence.ecg_strip) is not None:
        evidence_refs.append({"reference": ecg.ref, "display": "ECG strip"})
    return {
        "resourceType": "ServiceRequest",
        "id": r.referral_id,
        "identifier": [{"system": "urn:hmg:referral", "value": r.referral_id}],
        "status": _FHIR_STATUS[r.state],
        "intent": "order",
        "priority": r.urgency.value,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "3457005",
                        "display": "Patient referral",
                    }
                ]
            }
        ],
        "code": {"text": f"Referral to {r.department}"},
        "subject": {"reference": f"Patient/{r.patient_id}"},
        "authoredOn": format_ts(r.requested_at),
        "requester": {"display": r.requested_by},
        "performer": [{"display": f"{r.target_org} / {r.department}"}],
        "reasonCode": [{"text": r.reason}],
        "reasonReference": [{"reference": f"Flag/{r.alert_id}", "display": "hmg alert"}],
        "supportingInfo": evidence_refs,
        "note": notes,
        "extension": [
            {
                "url": "urn:hmg:fhir:StructureDefinition/green-channel",
                "valueBoolean": r.green_channel,
            },
            {"url": "urn:hmg:fhir:StructureDefinition/referral-state", "valueCode": r.state.value},
        ],
    }
