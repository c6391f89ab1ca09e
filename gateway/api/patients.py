"""Patients, their readings over a time range, and their care-team alert targets."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Query

from devices.kinds import Kind
from gateway.admin import PatientDetails
from gateway.api.deps import CurrentActor, GatewayDep
from gateway.api.schemas import PatientIn, PatientOut, ReadingOut
from gateway.errors import NotFoundError
from gateway.storage import Patient

router = APIRouter(prefix="/patients", tags=["patients"])


def _out(p: Patient) -> PatientOut:
    return PatientOut(
        patient_id=p.patient_id,
        tenant=p.tenant,
        name=p.name,
        birth_year=p.birth_year,
        lives_alone=p.lives_alone,
        disability=p.disability,
        care_team=p.care_team,
        targets=dict(p.targets),
    )


@router.get("")
async def list_patients(gw: GatewayDep, tenant: str | None = None) -> list[PatientOut]:
    return [_out(p) for p in await gw.stores.patients.patients(tenant or None)]


@router.get("/{patient_id}")
async def get_patient(gw: GatewayDep, patient_id: str) -> PatientOut:
    p = await gw.stores.patients.get_patient(patient_id)
    if p is None:
        raise NotFoundError("patient", patient_id)
    return _out(p)


@router.put("/{patient_id}")
async def put_patient(
    gw: GatewayDep, actor: CurrentActor, patient_id: str, body: PatientIn
) -> PatientOut:
    details = PatientDetails(**body.model_dump())
    return _out(await gw.admin.put_patient(actor, patient_id, details))


@router.put("/{patient_id}/targets")
async def put_targets(
    gw: GatewayDep, actor: CurrentActor, patient_id: str, body: dict[str, float]
) -> PatientOut:
    """Care-team overrides of alert limits, e.g. `{"target_systolic": 150}` for a frail elder."""
    return _out(await gw.admin.set_targets(actor, patient_id, body))


@router.get("/{patient_id}/readings")
async def readings(
    gw: GatewayDep,
    patient_id: str,
    kind: Kind | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = Query(default=1000, ge=1, le=100_000),
    samples: bool = False,
) -> list[ReadingOut]:
    """Readings measured in [start, end) (default: the last 24 hours)."""
    end = end or gw.clock() + timedelta(minutes=5)
    start = start or end - timedelta(days=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "start and end need a UTC offset")
    rows = await gw.readings.query(patient_id, kind, start, end, limit)
    return [ReadingOut.of(r, with_samples=samples) for r in rows]
