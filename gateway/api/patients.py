"""Patients, their readings over a time range, and their care-team alert targets."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from devices.kinds import Kind
from gateway.admin import PatientDetails
from gateway.api.deps import AdminDep, ReadsDep
from gateway.api.history import MAX_RANGE, MAX_STRIP, history_range
from gateway.api.paging import CursorParam, page, str_key
from gateway.api.schemas import MAX_LIST, PatientIn, PatientOut, ReadingOut
from gateway.api.security import CurrentActor
from gateway.storage import Patient, Profile
from gateway.storage.patients import PROFILE_FIELDS

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
        **asdict(p.profile),
    )


@router.get("")
async def list_patients(
    request: Request,
    response: Response,
    reads: ReadsDep,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = MAX_LIST,
    cursor: CursorParam = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> list[PatientOut]:
    """The caller's tenant's patients by id; more pages through `Link: rel="next"`. `q` finds
    patients by name, id, recorded conditions or care team (its id or name), in any case."""
    after = str_key(cursor)
    search = (q or "").strip() or None
    teams: list[str] = []
    if search:
        roster = await reads.stores.rosters.roster(actor.tenant)
        needle = search.casefold()
        teams = [t.team_id for t in roster.teams.values() if needle in t.name.casefold()]
    found = await reads.stores.patients.patients(
        actor.tenant, after=after, limit=limit + 1, search=search, teams=teams
    )
    return [_out(p) for p in page(request, response, found, limit, lambda p: (p.patient_id,))]


@router.get("/{patient_id}")
async def get_patient(reads: ReadsDep, actor: CurrentActor, patient_id: str) -> PatientOut:
    return _out(await reads.patient(actor, patient_id))


@router.put("/{patient_id}")
async def put_patient(
    admin: AdminDep, actor: CurrentActor, patient_id: str, body: PatientIn
) -> PatientOut:
    fields = body.model_dump()
    profile = Profile(**{f: fields.pop(f) for f in PROFILE_FIELDS})
    details = PatientDetails(**fields, profile=profile)
    return _out(await admin.put_patient(actor, patient_id, details))


@router.put("/{patient_id}/targets")
async def put_targets(
    admin: AdminDep, actor: CurrentActor, patient_id: str, body: dict[str, float]
) -> PatientOut:
    """Care-team overrides of alert limits, e.g. `{"target_systolic": 150}` for a frail elder."""
    return _out(await admin.set_targets(actor, patient_id, body))


@router.get("/{patient_id}/readings")
async def readings(
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    kind: Kind | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = Query(default=1000, ge=1, le=10_000),
    samples: bool = False,
) -> list[ReadingOut]:
    """Readings measured in [start, end) (default: the last 24 hours; at most a year, or ten
    minutes with ECG samples)."""
    longest = MAX_STRIP if samples else MAX_RANGE
    start, end = history_range(reads.now, start, end, timedelta(days=1), longest)
    key = (await reads.patient(actor, patient_id)).key
    rows = await reads.readings.query(key, kind, start, end, limit)
    return [ReadingOut.of(r, with_samples=samples) for r in rows]
