"""Rosters: care-team members and their contact channels, teams, on-call rotations, and each
patient's emergency contacts. Every edit goes through `gateway.admin` (audited under the actor)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, model_validator

from alerts.coverage import Coverage, TierGap, coverage
from alerts.roster import CHANNELS, CareTeam, Contact, Member, Roster, Rotation
from devices.timeparse import format_ts
from gateway.admin import EmergencyContact
from gateway.api.deps import AdminDep, ReadsDep
from gateway.api.schemas import RequestIn
from gateway.api.security import CurrentActor
from gateway.errors import InvalidError, NotFoundError
from gateway.notifiers.addresses import normalize_address

router = APIRouter(prefix="/rosters", tags=["rosters"])


class ContactIn(RequestIn):
    channel: str = Field(pattern="^(" + "|".join(sorted(CHANNELS)) + ")$")
    address: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _address(self) -> ContactIn:
        """E-mail syntax, E.164 phone numbers, https webhooks: checked and stored normalized."""
        self.address = normalize_address(self.channel, self.address)
        return self


class MemberIn(RequestIn):
    name: str = Field(min_length=1, max_length=200)
    role: str = "clinician"
    lang: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    contacts: list[ContactIn] = Field(default_factory=list)


class TeamIn(RequestIn):
    name: str = Field(min_length=1, max_length=200)
    kind: str = "family_doctor"
    members: list[str] = Field(default_factory=list)


class RotationIn(RequestIn):
    team_id: str
    members: list[str] = Field(min_length=1)
    start: datetime
    shift_hours: float = Field(default=12.0, gt=0)


class EmergencyContactIn(RequestIn):
    name: str = Field(min_length=1, max_length=200)
    relation: str = "family"
    lang: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    contacts: list[ContactIn] = Field(min_length=1)


class EmergencyContactsIn(RequestIn):
    contacts: list[EmergencyContactIn]


class ContactOut(BaseModel):
    channel: str
    address: str


class MemberOut(BaseModel):
    member_id: str
    tenant: str
    name: str
    role: str
    lang: str
    contacts: list[ContactOut]

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return cls(
            member_id=m.member_id,
            tenant=m.tenant,
            name=m.name,
            role=m.role,
            lang=m.lang,
            contacts=[ContactOut(channel=c.channel, address=c.address) for c in m.contacts],
        )


class TeamOut(BaseModel):
    team_id: str
    tenant: str
    name: str
    kind: str
    members: list[str]

    @classmethod
    def of(cls, t: CareTeam) -> TeamOut:
        return cls(
            team_id=t.team_id, tenant=t.tenant, name=t.name, kind=t.kind, members=list(t.members)
        )


class RotationOut(BaseModel):
    rotation_id: str
    tenant: str
    team_id: str
    members: list[str]
    start: str
    shift_hours: float
    on_call_now: str

    @classmethod
    def of(cls, r: Rotation, now: datetime) -> RotationOut:
        return cls(
            rotation_id=r.rotation_id,
            tenant=r.tenant,
            team_id=r.team_id,
            members=list(r.members),
            start=format_ts(r.start),
            shift_hours=r.shift.total_seconds() / 3600,
            on_call_now=r.on_call(now),
        )


class RosterOut(BaseModel):
    members: list[MemberOut]
    teams: list[TeamOut]
    rotations: list[RotationOut]
    emergency_contacts: dict[str, list[MemberOut]]

    @classmethod
    def of(cls, r: Roster, now: datetime) -> RosterOut:
        return cls(
            members=[MemberOut.of(m) for m in r.members.values()],
            teams=[TeamOut.of(t) for t in r.teams.values()],
            rotations=[RotationOut.of(x, now) for x in r.rotations.values()],
            emergency_contacts={
                pid: [MemberOut.of(m) for m in ms] for pid, ms in r.emergency_contacts.items()
            },
        )


class OnCallOut(BaseModel):
    at: str
    member_id: str
    member: MemberOut | None


class TierGapOut(BaseModel):
    tier: int
    tier_name: str
    targets: list[str]
    unresolved: list[str]
    patient_id: str | None = None
    patient_name: str | None = None

    @classmethod
    def of(cls, g: TierGap, names: dict[str, str | None]) -> TierGapOut:
        name = names.get(g.patient_id) if g.patient_id else None
        return cls(
            tier=g.tier, tier_name=g.tier_name, targets=list(g.targets),
            unresolved=list(g.unresolved), patient_id=g.patient_id, patient_name=name,
        )  # fmt: skip


class CoverageOut(BaseModel):
    """Escalation tiers that reach nobody: for the whole tenant, and for single elders."""

    policy_version: str | None
    tenant_gaps: list[TierGapOut]
    patient_gaps: list[TierGapOut]

    @classmethod
    def of(cls, c: Coverage | None, names: dict[str, str | None]) -> CoverageOut:
        if c is None:
            return cls(policy_version=None, tenant_gaps=[], patient_gaps=[])
        return cls(
            policy_version=c.policy_version,
            tenant_gaps=[TierGapOut.of(g, names) for g in c.tenant_gaps],
            patient_gaps=[TierGapOut.of(g, names) for g in c.patient_gaps],
        )


def _contacts(raw: list[ContactIn]) -> tuple[Contact, ...]:
    return tuple(Contact(c.channel, c.address) for c in raw)


@router.get("")
async def get_roster(reads: ReadsDep, actor: CurrentActor) -> RosterOut:
    """The caller's tenant's roster."""
    return RosterOut.of(await reads.stores.rosters.roster(actor.tenant), reads.now())


@router.get("/coverage")
async def get_coverage(
    reads: ReadsDep, actor: CurrentActor, patient_id: str | None = None
) -> CoverageOut:
    """The tenant's escalation tiers that reach nobody now: tenant-wide (an empty team, a
    rotation that is gone) and per elder (no care team, no emergency contact where the plan
    asks for one). With `patient_id`, that elder's gaps only (and the tenant's)."""
    policy = reads.policy(actor.tenant)
    everyone = await reads.stores.patients.patients(actor.tenant)
    chosen = [p for p in everyone if patient_id is None or p.patient_id == patient_id]
    names = {p.patient_id: p.name for p in chosen}
    if policy is None:
        return CoverageOut.of(None, names)
    roster = await reads.stores.rosters.roster(actor.tenant)
    found = coverage(policy, roster, {p.patient_id: p.flags for p in chosen}, reads.now())
    return CoverageOut.of(found, names)


@router.put("/members/{member_id}")
async def put_member(
    admin: AdminDep, actor: CurrentActor, member_id: str, body: MemberIn
) -> MemberOut:
    try:
        m = Member(
            member_id, actor.tenant, body.name, body.role, body.lang, _contacts(body.contacts)
        )
    except ValueError as exc:
        raise InvalidError(str(exc)) from exc
    return MemberOut.of(await admin.put_member(actor, m))


@router.put("/teams/{team_id}")
async def put_team(admin: AdminDep, actor: CurrentActor, team_id: str, body: TeamIn) -> TeamOut:
    t = CareTeam(team_id, actor.tenant, body.name, body.kind, tuple(body.members))
    return TeamOut.of(await admin.put_team(actor, t))


@router.put("/rotations/{rotation_id}")
async def put_rotation(
    admin: AdminDep, reads: ReadsDep, actor: CurrentActor, rotation_id: str, body: RotationIn
) -> RotationOut:
    if body.start.tzinfo is None:
        raise InvalidError("start needs a UTC offset", ("start",))
    try:
        rot = Rotation(
            rotation_id,
            actor.tenant,
            body.team_id,
            tuple(body.members),
            body.start,
            timedelta(hours=body.shift_hours),
        )
    except ValueError as exc:
        raise InvalidError(str(exc)) from exc
    return RotationOut.of(await admin.put_rotation(actor, rot), reads.now())


@router.get("/rotations/{rotation_id}/on-call")
async def on_call(
    reads: ReadsDep, actor: CurrentActor, rotation_id: str, at: datetime | None = None
) -> OnCallOut:
    """Who is on call now (or at `at`)."""
    roster = await reads.stores.rosters.roster(actor.tenant)
    rot = roster.rotations.get(rotation_id)
    if rot is None:
        raise NotFoundError("rotation", rotation_id)
    when = at or reads.now()
    member_id = rot.on_call(when)
    m = roster.members.get(member_id)
    return OnCallOut(at=format_ts(when), member_id=member_id, member=MemberOut.of(m) if m else None)


@router.delete("/{part}/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(admin: AdminDep, actor: CurrentActor, part: str, key: str) -> None:
    """Remove a member, team or rotation (`part`: members, teams, rotations)."""
    await admin.delete(actor, part, key)


@router.put("/patients/{patient_id}/emergency-contacts")
async def put_emergency_contacts(
    admin: AdminDep, actor: CurrentActor, patient_id: str, body: EmergencyContactsIn
) -> list[MemberOut]:
    people = [
        EmergencyContact(c.name, c.relation, c.lang, _contacts(c.contacts)) for c in body.contacts
    ]
    saved = await admin.set_emergency_contacts(actor, patient_id, people)
    return [MemberOut.of(m) for m in saved]
