"""FHIR R4 export of stored readings: `GET /fhir/Observation` returns a searchset Bundle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from devices.codecs.fhir import bundle
from devices.kinds import kind_for_code
from devices.timeparse import parse_ts
from gateway.api.deps import ReadsDep
from gateway.api.history import MAX_RANGE
from gateway.api.schemas import FhirBundleOut
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/fhir", tags=["fhir"])

FHIR_JSON = "application/fhir+json"


def _bounds(dates: list[str]) -> tuple[datetime, datetime]:
    """FHIR `date` search parameters with ge/gt/le/lt prefixes (default: the last 30 days)."""
    end = datetime.now(UTC) + timedelta(minutes=5)
    start = end - timedelta(days=30)
    for d in dates:
        prefix, value = (d[:2], d[2:]) if d[:2] in ("ge", "gt", "le", "lt") else ("eq", d)
        try:
            ts = parse_ts(value)
        except ValueError as exc:
            raise HTTPException(400, f"bad date {d!r}: {exc}") from exc
        if prefix in ("ge", "gt"):
            start = ts
        elif prefix in ("le", "lt"):
            end = ts
        else:
            start, end = ts, ts + timedelta(milliseconds=1)
    if not start < end or end - start > MAX_RANGE:
        raise HTTPException(
            400, f"the date range must be increasing and at most {MAX_RANGE.days} days"
        )
    return start, end


@router.get("/Observation")
async def search_observations(
    reads: ReadsDep,
    actor: CurrentActor,
    patient: str,
    code: str | None = None,
    date: Annotated[list[str] | None, Query()] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=10_000)] = 1000,
) -> FhirBundleOut:
    """Readings of one patient as FHIR Observations (vital-signs profile, canonical UCUM)."""
    kind = None
    if code is not None:
        kind = kind_for_code(code.split("|")[-1])
        if kind is None:
            raise HTTPException(400, f"unsupported code {code!r}")
    start, end = _bounds(date or [])
    patient_id = patient.removeprefix("Patient/")
    key = (await reads.patient(actor, patient_id)).key
    readings = await reads.readings.query(key, kind, start, end, count)
    return FhirBundleOut.model_validate(bundle(readings, "searchset"))
