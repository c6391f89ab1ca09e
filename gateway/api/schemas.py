"""API models (pydantic at the edge only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.model import Reading
from devices.timeparse import format_ts
from gateway.storage.consents import Consent, ConsentStatus

# The most items one list request returns; longer lists are paged.
MAX_LIST = 500


class RequestIn(BaseModel):
    """A request body: unknown fields are refused. Who acts and for which tenant come from the
    token only, so a body that names them (`by`, `tenant`) is an error, never an override."""

    model_config = ConfigDict(extra="forbid")


class ProfileFields(BaseModel):
    """What the care team records about an elder (free text)."""

    sex: Literal["female", "male", "other"] | None = None
    conditions: str | None = Field(default=None, max_length=2000)
    medications: str | None = Field(default=None, max_length=2000)
    allergies: str | None = Field(default=None, max_length=2000)
    address: str | None = Field(default=None, max_length=500)
    access_notes: str | None = Field(
        default=None, max_length=1000, description="key safe, door code: staff and responders only"
    )


class PatientOut(ProfileFields):
    patient_id: str
    tenant: str
    name: str | None = None
    birth_year: int | None = None
    lives_alone: bool = False
    disability: bool = False
    care_team: str | None = None
    targets: dict[str, float] = Field(default_factory=dict)


class PatientIn(ProfileFields, RequestIn):
    name: str | None = Field(default=None, max_length=200)
    birth_year: int | None = Field(default=None, ge=1880, le=2100)
    lives_alone: bool = False
    disability: bool = False
    care_team: str | None = Field(default=None, max_length=64)


class DeviceIn(RequestIn):
    device_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    kind: str
    kiosk: bool = False
    patient_id: str | None = None
    since: datetime | None = None


class BindIn(RequestIn):
    patient_id: str
    since: datetime | None = None


class BindingOut(BaseModel):
    patient_id: str
    since: datetime


class DeviceOut(BaseModel):
    device_id: str
    tenant: str
    kind: str
    kiosk: bool
    retired_at: datetime | None
    bindings: list[BindingOut]


class ReadingOut(BaseModel):
    device_id: str
    kind: str
    seq: int
    ts: str
    received_at: str
    values: dict[str, float]
    attrs: dict[str, Any]
    flags: list[str]
    ecg: dict[str, Any] | None = None

    @classmethod
    def of(cls, r: Reading, *, with_samples: bool = False) -> ReadingOut:
        ecg = None
        if r.ecg is not None:
            ecg = {
                "fs": r.ecg.fs,
                "lead": r.ecg.lead,
                "gain": r.ecg.gain,
                "baseline": r.ecg.baseline,
                "n": int(r.ecg.samples.size),
            }
            if with_samples:
                ecg["samples"] = r.ecg.samples.tolist()
        return cls(
            device_id=r.device_id,
            kind=r.kind.value,
            seq=r.seq,
            ts=format_ts(r.ts),
            received_at=format_ts(r.received_at),
            values=dict(r.values),
            attrs=dict(r.attrs),
            flags=sorted(r.flags),
            ecg=ecg,
        )


class DeadLetterOut(BaseModel):
    id: int
    tenant: str
    topic: str
    reason: str
    detail: str
    payload: str
    received_at: datetime


class FhirEntryOut(BaseModel):
    resource: dict[str, Any]


class FhirBundleOut(BaseModel):
    """A FHIR R4 Bundle (`searchset`): each entry's resource is a FHIR resource document."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"] = "Bundle"  # noqa: N815 - FHIR's own field name
    type: str
    total: int | None = None
    entry: list[FhirEntryOut]


class ServiceRequestOut(BaseModel):
    """A referral as a FHIR R4 ServiceRequest (the fields below, and FHIR's others as sent)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["ServiceRequest"] = "ServiceRequest"  # noqa: N815 - FHIR's name
    id: str
    status: str
    intent: str
    priority: str
    subject: dict[str, str]
    authoredOn: str  # noqa: N815 - FHIR's own field name


class ConsentIn(BaseModel):
    status: ConsentStatus
    note: str | None = Field(None, max_length=500)


class ConsentOut(BaseModel):
    patient_id: str
    status: ConsentStatus
    recorded_at: datetime
    recorded_by: str
    note: str | None

    @classmethod
    def of(cls, c: Consent) -> ConsentOut:
        return cls(
            patient_id=c.patient_id,
            status=c.status,
            recorded_at=c.recorded_at,
            recorded_by=c.recorded_by,
            note=c.note,
        )
