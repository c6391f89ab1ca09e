"""Rosters: care-team members with their contact channels, teams, on-call rotations and each
patient's emergency contacts, read back as one pure `Roster` value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from alerts.roster import CareTeam, Contact, Member, Roster, Rotation
from devices.model import PatientKey
from gateway.storage.database import Database, Transaction
from gateway.storage.tables import (
    CareMemberRow,
    CareTeamRow,
    EmergencyContactRow,
    PatientRow,
    RotationRow,
)

# The roster's parts by their name in the API (`/rosters/{part}/{key}`).
_PARTS: dict[str, type[CareMemberRow] | type[CareTeamRow] | type[RotationRow]] = {
    "members": CareMemberRow,
    "teams": CareTeamRow,
    "rotations": RotationRow,
}
PARTS = frozenset(_PARTS)


def _contacts(raw: Sequence[dict[str, str]]) -> tuple[Contact, ...]:
    return tuple(Contact(c["channel"], c["address"]) for c in raw)


def _contact_rows(contacts: Sequence[Contact]) -> list[dict[str, str]]:
    return [{"channel": c.channel, "address": c.address} for c in contacts]


def _rotation_of(r: RotationRow) -> Rotation:
    shift = timedelta(seconds=r.shift_s)
    return Rotation(r.rotation_id, r.tenant, r.team_id, tuple(r.members), r.start, shift)


class RosterStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put_member(self, m: Member, now: datetime, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            row = await s.get(CareMemberRow, m.member_id)
            if row is None:
                row = CareMemberRow(member_id=m.member_id)
                s.add(row)
            row.tenant, row.name, row.role, row.lang = m.tenant, m.name, m.role, m.lang
            row.contacts, row.updated_at = _contact_rows(m.contacts), now

    async def put_team(self, t: CareTeam, now: datetime, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            row = await s.get(CareTeamRow, t.team_id)
            if row is None:
                row = CareTeamRow(team_id=t.team_id)
                s.add(row)
            row.tenant, row.name, row.kind = t.tenant, t.name, t.kind
            row.members, row.updated_at = list(t.members), now

    async def put_rotation(
        self, r: Rotation, now: datetime, *, tx: Transaction | None = None
    ) -> None:
        async with self.db.writing(tx) as s:
            row = await s.get(RotationRow, r.rotation_id)
            if row is None:
                row = RotationRow(rotation_id=r.rotation_id)
                s.add(row)
            row.tenant, row.team_id, row.members = r.tenant, r.team_id, list(r.members)
            row.start, row.shift_s = r.start, r.shift.total_seconds()
            row.updated_at = now

    async def set_emergency_contacts(
        self,
        patient: PatientKey,
        contacts: Sequence[Member],
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Replace the patient's emergency contacts, in the order to call them (a contact's
        `role` is their relation to the patient)."""
        async with self.db.writing(tx) as s:
            stmt = select(EmergencyContactRow).where(
                EmergencyContactRow.tenant == patient.tenant,
                EmergencyContactRow.patient_id == patient.patient_id,
            )
            for old in (await s.scalars(stmt)).all():
                await s.delete(old)
            for rank, m in enumerate(contacts):
                s.add(
                    EmergencyContactRow(
                        patient_id=patient.patient_id,
                        tenant=patient.tenant,
                        name=m.name,
                        relation=m.role,
                        lang=m.lang,
                        contacts=_contact_rows(m.contacts),
                        rank=rank,
                    )
                )

    async def tenant_of(self, part: str, key: str) -> str | None:
        """The tenant holding roster entry `key` of `part` (members, teams, rotations)."""
        async with self.db.session() as s:
            row: CareMemberRow | CareTeamRow | RotationRow | None = await s.get(_PARTS[part], key)
            return None if row is None else row.tenant

    async def delete(
        self, part: str, key: str, tenant: str, *, tx: Transaction | None = None
    ) -> bool:
        """Remove entry `key` of `part` if `tenant` holds it (False: no such entry there)."""
        async with self.db.writing(tx) as s:
            row: CareMemberRow | CareTeamRow | RotationRow | None = await s.get(_PARTS[part], key)
            if row is None or row.tenant != tenant:
                return False
            await s.delete(row)
        return True

    async def roster(self, tenant: str) -> Roster:
        """Everything a tier's targets can name in one tenant (patients, and so their emergency
        contacts and care teams, are the tenant's own: another tenant may use the same ids)."""

        def where(stmt: Any, col: Any) -> Any:
            return stmt.where(col == tenant)

        async with self.db.session() as s:
            members = (await s.scalars(where(select(CareMemberRow), CareMemberRow.tenant))).all()
            teams = (await s.scalars(where(select(CareTeamRow), CareTeamRow.tenant))).all()
            rots = (await s.scalars(where(select(RotationRow), RotationRow.tenant))).all()
            ec_stmt = where(select(EmergencyContactRow), EmergencyContactRow.tenant)
            ecs = (await s.scalars(ec_stmt.order_by(EmergencyContactRow.rank))).all()
            patients = (await s.scalars(where(select(PatientRow), PatientRow.tenant))).all()
        emergency: dict[str, list[Member]] = {}
        for e in ecs:
            emergency.setdefault(e.patient_id, []).append(
                Member(f"ec:{e.patient_id}:{e.rank}", e.tenant, e.name, e.relation or "family",
                       e.lang, _contacts(e.contacts))
            )  # fmt: skip
        return Roster(
            members={
                m.member_id: Member(
                    m.member_id, m.tenant, m.name, m.role, m.lang, _contacts(m.contacts)
                )
                for m in members
            },
            teams={
                t.team_id: CareTeam(t.team_id, t.tenant, t.name, t.kind, tuple(t.members))
                for t in teams
            },
            rotations={
                r.rotation_id: Rotation(
                    r.rotation_id,
                    r.tenant,
                    r.team_id,
                    tuple(r.members),
                    r.start,
                    timedelta(seconds=r.shift_s),
                )
                for r in rots
            },
            emergency_contacts=emergency,
            patient_teams={p.patient_id: p.care_team for p in patients if p.care_team},
        )
