"""Patients, their readings over a time range, and their care-team alert targets."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Query

from alerts.targets import DEFAULT_TARGETS, TargetError
from devices.kinds import Kind
from gateway.api.deps import GatewayDep
from gateway.api.schemas import PatientIn, PatientOut, ReadingOut
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
        raise HTTPException(404, f"patient {patient_id!r} not found")
    return _out(p)


@router.put("/{patient_id}")
async def put_patient(gw: GatewayDep, patient_id: str, body: PatientIn) -> PatientOut:
    old = await gw.stores.patients.get_patient(patient_id)
    p = Patient(
        patient_id,
        body.tenant,
        old.created_at if old else gw.clock(),
        targets=old.targets if old else {},
        **body.model_dump(exclude={"tenant"}),
    )
    await gw.stores.patients.save_patient(p)
    return _out(p)


@router.put("/{patient_id}/targets")
async def put_targets(gw: GatewayDep, patient_id: str, body: dict[str, float]) -> PatientOut:
    """Care-team overrides of alert limits, e.g. `{"target_systolic": 150}` for a frail elder."""
    p = await gw.stores.patients.get_patient(patient_id)
    if p is None:
        raise HTTPException(404, f"patient {patient_id!r} not found")
    merged = {**p.targets, **body}
    try:
        targets = DEFAULT_TARGETS.with_overrides(merged)
    except TargetError as exc:
        raise HTTPException(422, {"detail": str(exc), "fields": list(exc.fields)}) from exc
    p = replace(p, targets=merged)
    await gw.stores.patients.save_patient(p)
    await gw.set_targets(patient_id, targets)
    return _out(p)


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
