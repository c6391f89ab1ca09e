"""An elder's record as the gateway holds it, loaded once per request for every FHIR view.

`load_record` reads what the tenant holds about one patient (scoped to the tenant: another
tenant's patient is not found); `everything` turns it into the `$everything` searchset Bundle.
The patient summary (`gateway.fhir.summary`) and the platform push (`gateway.fhir.push`) read the
same `PatientRecord`, so every view of the record says the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.model import Alert
from alerts.referral import Referral
from alerts.referral import to_fhir as referral_to_fhir
from alerts.roster import CareTeam, Member
from devices.codecs.fhir import exportable, to_fhir
from devices.kinds import Kind
from devices.model import PatientKey, Reading
from devices.registry import Device
from gateway.errors import NotFoundError
from gateway.fhir import resources as res
from gateway.storage import ReadingStore, Stores
from gateway.storage.consents import Consent
from gateway.storage.patients import Patient

__all__ = ["PatientRecord", "entry", "everything", "load_record", "observation"]

# Readings in one record at most (ECG chunks are never part of it: /fhir/Observation serves them).
MAX_READINGS = 5000
RECORD_KINDS = (Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2, Kind.WEIGHT)


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """What the tenant holds about one elder, for one time window of readings."""

    patient: Patient
    devices: tuple[Device, ...]
    readings: tuple[Reading, ...]
    alerts: tuple[Alert, ...]
    referrals: tuple[Referral, ...]
    team: CareTeam | None
    members: tuple[Member, ...]
    start: datetime
    end: datetime
    consent: Consent | None = None  # to share with the regional platform, as recorded


async def load_record(
    stores: Stores,
    readings: ReadingStore,
    tenant: str,
    patient_id: str,
    start: datetime,
    end: datetime,
) -> PatientRecord:
    """The record of `patient_id` in `tenant` (NotFoundError if the tenant has no such patient)."""
    p = await stores.patients.get_patient(PatientKey(tenant, patient_id))
    if p is None:
        raise NotFoundError("patient", patient_id)
    devices = tuple(
        d
        for d in await stores.patients.devices()
        if d.tenant == tenant and any(b.patient_id == patient_id for b in d.bindings)
    )
    found: list[Reading] = []
    for kind in RECORD_KINDS:
        found += await readings.query(p.key, kind, start, end, MAX_READINGS)
    found.sort(key=lambda r: (r.ts, r.device_id, r.seq))
    alerts = await stores.alerts.query(
        tenant=tenant, patient_id=patient_id, since=start, until=end, limit=500
    )
    referrals = await stores.referrals.query(tenant=tenant, patient_id=patient_id, limit=200)
    roster = await stores.rosters.roster(tenant)
    team = roster.teams.get(p.care_team or "")
    members = tuple(roster.members[m] for m in team.members if m in roster.members) if team else ()
    consent = await stores.consents.get(tenant, patient_id)
    return PatientRecord(
        p,
        devices,
        tuple(r for r in found[-MAX_READINGS:] if exportable(r)),
        tuple(a for a in alerts if a.tenant == tenant),
        tuple(r for r in referrals if r.tenant == tenant),
        team,
        members,
        start,
        end,
        consent,
    )


def observation(r: Reading) -> dict[str, Any]:
    """A reading as an Observation with a tenant-wide business identifier and a FHIR-safe id."""
    obs = to_fhir(r)
    obs["id"] = res.fhir_id(f"{r.device_id}-{r.seq}")
    obs["identifier"] = [
        {"system": f"urn:hmg:{r.tenant}:reading", "value": f"{r.device_id}/{r.seq}"},
        *obs["identifier"],
    ]
    obs["device"] = res.ref("Device", r.device_id)
    return obs


def resources(rec: PatientRecord, lang: str = "en") -> list[dict[str, Any]]:
    """Every resource of the record: the patient first, then what refers to them."""
    pid = rec.patient.patient_id
    out: list[dict[str, Any]] = [res.patient(rec.patient)]
    out += [res.device(d, pid) for d in rec.devices]
    if rec.team is not None:
        out.append(res.care_team(rec.team, rec.members, pid))
    out += res.conditions(rec.patient)
    out += res.medications(rec.patient)
    out += res.allergies(rec.patient)
    if rec.consent is not None:
        out.append(res.consent(rec.consent))
    out += [observation(r) for r in rec.readings]
    out += [res.flag(a, lang) for a in rec.alerts]
    out += [referral_to_fhir(r) for r in rec.referrals]
    return out


def entry(base: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A Bundle entry whose fullUrl resolves the resource's relative references against `base`."""
    return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource}


def everything(
    rec: PatientRecord, base: str, extra: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """`Patient/$everything`: a searchset Bundle of the record (and `extra` resources)."""
    entries = [entry(base, r) for r in [*resources(rec), *extra]]
    for e in entries:
        e["search"] = {"mode": "match" if e["resource"]["resourceType"] == "Patient" else "include"}
    return {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": entries}
