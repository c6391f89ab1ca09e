"""The elder's record in FHIR R4: `Patient/{id}`, `Patient/{id}/$everything` and
`Patient/{id}/$summary` (the IPS-shaped patient summary document, zh-CN or en).

Bodies are served as `application/fhir+json` exactly as `gateway.fhir` builds them; the response
models below only document their shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from devices.model import PatientKey
from devices.timeparse import parse_ts
from gateway.api.deps import ReadsDep
from gateway.api.history import MAX_RANGE
from gateway.api.security import CurrentActor
from gateway.fhir import resources as res
from gateway.fhir.record import everything, load_record
from gateway.fhir.summary import summary_document
from gateway.followup.fhir import to_task

router = APIRouter(prefix="/fhir/Patient", tags=["fhir"])

DEFAULT_WINDOW = timedelta(days=90)


class FhirJSON(JSONResponse):
    media_type = "application/fhir+json"


class FhirResourceOut(BaseModel):
    """A FHIR R4 resource (its other elements as FHIR defines them)."""

    model_config = ConfigDict(extra="allow")

    resourceType: str  # noqa: N815 - FHIR's own field name
    id: str | None = None


class FhirBundleDocOut(FhirResourceOut):
    """A FHIR R4 Bundle: `searchset` for `$everything`, `document` for `$summary`."""

    resourceType: Literal["Bundle"] = "Bundle"  # noqa: N815 - FHIR's own field name
    type: str
    entry: list[dict[str, Any]]


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir"


def _window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """`start`/`end` (dates or times; default the last 90 days), at most the history range."""
    try:
        hi = parse_ts(end) if end else now + timedelta(minutes=5)
        lo = parse_ts(start) if start else hi - DEFAULT_WINDOW
    except ValueError as exc:
        raise HTTPException(400, f"bad start or end: {exc}") from exc
    if not lo < hi or hi - lo > MAX_RANGE:
        raise HTTPException(400, f"the window must be increasing and at most {MAX_RANGE.days} days")
    return lo, hi


@router.get("/{patient_id}", response_model=FhirResourceOut, response_class=FhirJSON)
async def read_patient(reads: ReadsDep, actor: CurrentActor, patient_id: str) -> FhirJSON:
    """The elder as a FHIR Patient."""
    return FhirJSON(res.patient(await reads.patient(actor, patient_id)))


@router.get("/{patient_id}/$everything", response_model=FhirBundleDocOut, response_class=FhirJSON)
async def patient_everything(
    request: Request,
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    start: str | None = None,
    end: str | None = None,
) -> FhirJSON:
    """The patient, devices, care team, problems, observations between `start` and `end`
    (default the last 90 days; ECG strips are served by `/fhir/Observation`), alerts as Flags,
    referrals and follow-up Tasks, as a searchset Bundle."""
    lo, hi = _window(start, end, datetime.now(UTC))
    rec = await load_record(reads.stores, reads.readings, actor.tenant, patient_id, lo, hi)
    tasks = await reads.stores.followups.query(actor.tenant, patient_id=patient_id)
    team = rec.team.name if rec.team is not None else None
    extra = [to_task(t, reads.now(), team) for t in tasks]
    return FhirJSON(everything(rec, _base(request), extra))


@router.get("/{patient_id}/$summary", response_model=FhirBundleDocOut, response_class=FhirJSON)
async def patient_summary(
    request: Request,
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
) -> FhirJSON:
    """The patient summary document (IPS structure) in zh-CN or English, from the last 90 days."""
    now = datetime.now(UTC)
    rec = await load_record(
        reads.stores, reads.readings, actor.tenant, patient_id, now - DEFAULT_WINDOW, now
    )
    doc = summary_document(
        rec, reads.targets(PatientKey(actor.tenant, patient_id)), lang, _base(request), now
    )
    return FhirJSON(doc)
