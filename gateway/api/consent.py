"""An elder's consent to share their record with the regional platform: read and record it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.api.deps import ConsentDep, ReadsDep
from gateway.api.security import CurrentActor
from gateway.errors import NotFoundError
from gateway.fhir.consent import consent_of, record_consent
from gateway.storage.consents import Consent, ConsentStatus

router = APIRouter(prefix="/patients", tags=["patients"])


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


@router.get("/{patient_id}/consent")
async def get_consent(reads: ReadsDep, actor: CurrentActor, patient_id: str) -> ConsentOut:
    """The elder's recorded consent to share with the regional platform (404: none recorded)."""
    c = await consent_of(reads.stores, actor.tenant, patient_id)
    if c is None:
        raise NotFoundError("consent", patient_id)
    return ConsentOut.of(c)


@router.put("/{patient_id}/consent")
async def put_consent(
    parts: ConsentDep, actor: CurrentActor, patient_id: str, body: ConsentIn
) -> ConsentOut:
    """Record consent (`active`: the record is pushed, all of it at once now) or its withdrawal
    (`withdrawn`: nothing more is pushed); audited with before and after."""
    return ConsentOut.of(await record_consent(parts, actor, patient_id, body.status, body.note))
