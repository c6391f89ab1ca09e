"""Patients, their readings over a time range, their care-team alert targets and their consent
to share the record with the regional platform."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.admin import PatientDetails
from gateway.api.deps import AdminDep, ConsentDep, ReadsDep
from gateway.api.paging import CursorParam, page, str_key
from gateway.api.schemas import (
    MAX_LIST,
    ConsentIn,
    ConsentOut,
    PatientIn,
    PatientOut,
)
from gateway.api.security import CurrentActor
from gateway.errors import NotFoundError
from gateway.fhir.consent import consent_of, record_consent
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
