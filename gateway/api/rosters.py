"""Rosters: care-team members and their contact channels, teams, on-call rotations, and each
patient's emergency contacts. Every edit is audited under the acting user."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field, model_validator

from alerts.roster import CHANNELS, CareTeam, Contact, Member, Roster, Rotation
from devices.timeparse import format_ts
from gateway.api.deps import GatewayDep
from gateway.notifiers.addresses import normalize_address
from gateway.service import Gateway
from gateway.storage import AuditEntry

router = APIRouter(prefix="/rosters", tags=["rosters"])
UserHeader = Annotated[str | None, Header(alias="X-HMG-User")]
_ID = r"^[A-Za-z0-9._:-]+$"


class ContactIn(BaseModel):
    channel: str = Field(pattern="^(" + "|".join(sorted(CHANNELS)) + ")$")
    address: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _address(self) -> ContactIn:
        """E-mail syntax, E.164 phone numbers, https webhooks: checked and stored normalized."""
        self.address = normalize_address(self.channel, self.address)
        return self


class MemberIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    tenant: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    role: str = "clinician"
    lang: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    contacts: list[ContactIn] = Field(default_factory=list)


class TeamIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    tenant: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = "family_doctor"
    members: list[str] = Field(default_factory=list)


class RotationIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    tenant: str = Field(min_length=1, max_length=64)
    team_id: str
    members: list[str] = Field(min_length=1)
    start: datetime
    shift_hours: float = Field(default=12.0, gt=0)


class EmergencyContactIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    relation: str = "family"
    lang: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    contacts: list[ContactIn] = Field(min_length=1)


class EmergencyContactsIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    contacts: list[EmergencyContactIn]


def _member_json(m: Member) -> dict[str, Any]:
    return {
        "member_id": m.member_id,
        "tenant": m.tenant,
        "name": m.name,
        "role": m.role,
        "lang": m.lang,
        "contacts": [{"channel": c.channel, "address": c.address} for c in m.contacts],
    }


def roster_json(r: Roster, now: datetime) -> dict[str, Any]:
    return {
        "members": [_member_json(m) for m in r.members.values()],
        "teams": [
            {
                "team_id": t.team_id,
                "tenant": t.tenant,
                "name": t.name,
                "kind": t.kind,
                "members": list(t.members),
            }
            for t in r.teams.values()
        ],
        "rotations": [
            {
                "rotation_id": x.rotation_id,
                "tenant": x.tenant,
                "team_id": x.team_id,
                "members": list(x.members),
                "start": format_ts(x.start),
                "shift_hours": x.shift.total_seconds() / 3600,
                "on_call_now": x.on_call(now),
            }
            for x in r.rotations.values()
        ],
        "emergency_contacts": {
            pid: [_member_json(m) for m in ms] for pid, ms in r.emergency_contacts.items()
        },
    }


async def _audit(
    gw: Gateway, request: Request, by: str, action: str, kind: str, key: str, detail: Any
) -> None:
    client = request.headers.get("X-HMG-Client") or request.headers.get("user-agent")
    await gw.stores.audit.append(
        AuditEntry(gw.clock(), by, client, action, kind, key, {"value": detail})
    )


@router.get("")
async def get_roster(gw: GatewayDep, tenant: str | None = None) -> dict[str, Any]:
    return roster_json(await gw.stores.rosters.roster(tenant), gw.clock())


@router.put("/members/{member_id}")
async def put_member(
    gw: GatewayDep, request: Request, member_id: str, body: MemberIn, user: UserHeader = None
) -> dict[str, Any]:
    try:
        m = Member(
            member_id,
            body.tenant,
            body.name,
            body.role,
            body.lang,
            tuple(Contact(c.channel, c.address) for c in body.contacts),
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    await gw.stores.rosters.put_member(m, gw.clock())
    await _audit(gw, request, user or body.by, "put", "member", member_id, _member_json(m))
    return _member_json(m)


@router.put("/teams/{team_id}")
async def put_team(
    gw: GatewayDep, request: Request, team_id: str, body: TeamIn, user: UserHeader = None
) -> dict[str, Any]:
    roster = await gw.stores.rosters.roster(body.tenant)
    missing = [m for m in body.members if m not in roster.members]
    if missing:
        raise HTTPException(422, f"unknown member(s): {', '.join(missing)}")
    t = CareTeam(team_id, body.tenant, body.name, body.kind, tuple(body.members))
    await gw.stores.rosters.put_team(t, gw.clock())
    out = {"team_id": team_id, **body.model_dump(exclude={"by"})}
    await _audit(gw, request, user or body.by, "put", "team", team_id, out)
    return out


@router.put("/rotations/{rotation_id}")
async def put_rotation(
    gw: GatewayDep, request: Request, rotation_id: str, body: RotationIn, user: UserHeader = None
) -> dict[str, Any]:
    if body.start.tzinfo is None:
        raise HTTPException(422, "start needs a UTC offset")
    try:
        rot = Rotation(
            rotation_id,
            body.tenant,
            body.team_id,
            tuple(body.members),
            body.start,
            timedelta(hours=body.shift_hours),
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    await gw.stores.rosters.put_rotation(rot, gw.clock())
    out = {"rotation_id": rotation_id, **body.model_dump(mode="json", exclude={"by"})}
    await _audit(gw, request, user or body.by, "put", "rotation", rotation_id, out)
    return {**out, "on_call_now": rot.on_call(gw.clock())}


@router.get("/rotations/{rotation_id}/on-call")
async def on_call(gw: GatewayDep, rotation_id: str, at: datetime | None = None) -> dict[str, Any]:
    """Who is on call now (or at `at`)."""
    roster = await gw.stores.rosters.roster()
    rot = roster.rotations.get(rotation_id)
    if rot is None:
        raise HTTPException(404, f"rotation {rotation_id!r} not found")
    when = at or gw.clock()
    member_id = rot.on_call(when)
    m = roster.members.get(member_id)
    return {"at": format_ts(when), "member_id": member_id, "member": _member_json(m) if m else None}


@router.delete("/{kind}/{key}", status_code=204)
async def delete(
    gw: GatewayDep, request: Request, kind: str, key: str, by: str, user: UserHeader = None
) -> None:
    rosters = gw.stores.rosters
    parts = {
        "members": ("member", rosters.delete_member),
        "teams": ("team", rosters.delete_team),
        "rotations": ("rotation", rosters.delete_rotation),
    }
    if kind not in parts:
        raise HTTPException(404, f"unknown roster part {kind!r}")
    singular, remove = parts[kind]
    if not await remove(key):
        raise HTTPException(404, f"{singular} {key!r} not found")
    await _audit(gw, request, user or by, "delete", singular, key, None)


@router.put("/patients/{patient_id}/emergency-contacts")
async def put_emergency_contacts(
    gw: GatewayDep,
    request: Request,
    patient_id: str,
    body: EmergencyContactsIn,
    user: UserHeader = None,
) -> list[dict[str, Any]]:
    patient = await gw.stores.patients.get_patient(patient_id)
    if patient is None:
        raise HTTPException(404, f"patient {patient_id!r} not found")
    members = [
        Member(
            f"ec:{patient_id}:{i}",
            patient.tenant,
            c.name,
            c.relation,
            c.lang,
            tuple(Contact(x.channel, x.address) for x in c.contacts),
        )
        for i, c in enumerate(body.contacts)
    ]
    await gw.stores.rosters.set_emergency_contacts(patient_id, patient.tenant, members)
    out = [_member_json(m) for m in members]
    await _audit(gw, request, user or body.by, "put", "emergency_contacts", patient_id, out)
    return out
