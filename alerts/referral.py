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

from devices.timeparse import format_ts


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
    evidence: Mapping[str, Any] = field(default_factory=dict)

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
        {"reference": f"Observation/{obs['id']}", "display": obs.get("display")}
        for obs in r.evidence.get("readings", ())
        if isinstance(obs, Mapping) and obs.get("id") is not None
    ]
    ecg = r.evidence.get("ecg_strip")
    if isinstance(ecg, Mapping) and ecg.get("ref"):
        evidence_refs.append({"reference": str(ecg["ref"]), "display": "ECG strip"})
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
