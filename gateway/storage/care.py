"""Care records: rosters, escalation timers, referrals, notification deliveries, audit log.

Tables share `Base` with `gateway.storage.models`, so `Database.create_schema` and the Alembic
metadata include them (this module is imported by `gateway.storage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from alerts.escalation import EscalationState
from alerts.model import Priority
from alerts.referral import Referral, ReferralState, Urgency
from alerts.roster import CareTeam, Contact, Member, Roster, Rotation
from gateway.storage.database import Database
from gateway.storage.models import Base, PatientRow

_ID = BigInteger().with_variant(Integer, "sqlite")


class CareTeamRow(Base):
    __tablename__ = "care_teams"

    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="family_doctor")
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class CareMemberRow(Base):
    __tablename__ = "care_members"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="clinician")
    lang: Mapped[str] = mapped_column(String(8), default="zh-CN")
    contacts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class RotationRow(Base):
    __tablename__ = "on_call_rotations"

    rotation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    team_id: Mapped[str] = mapped_column(String(64))
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    start: Mapped[datetime]
    shift_s: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class EmergencyContactRow(Base):
    __tablename__ = "emergency_contacts"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="zh-CN")
    contacts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    rank: Mapped[int] = mapped_column(Integer, default=0)


class EscalationTimerRow(Base):
    """One pending escalation per active alert (see `alerts.escalation.EscalationState`)."""

    __tablename__ = "escalation_timers"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(128))
    priority: Mapped[str] = mapped_column(String(8))
    tier: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(16))
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy_version: Mapped[str] = mapped_column(String(64), default="")


class AlertAssignmentRow(Base):
    __tablename__ = "alert_assignments"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), primary_key=True)
    assignee: Mapped[str | None] = mapped_column(String(128))
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[datetime]


class ReferralRow(Base):
    __tablename__ = "referrals"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    target_org: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeliveryRow(Base):
    """One notification attempt series on one channel, with its receipt or its error."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), index=True)
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


class AuditRow(Base):
    """Actions that are not alert transitions: comments, assignments, roster and referral edits."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def _contacts(raw: Sequence[dict[str, str]]) -> tuple[Contact, ...]:
    return tuple(Contact(c["channel"], c["address"]) for c in raw)


def member_of(r: CareMemberRow) -> Member:
    return Member(r.member_id, r.tenant, r.name, r.role, r.lang, _contacts(r.contacts))


def team_of(r: CareTeamRow) -> CareTeam:
    return CareTeam(r.team_id, r.tenant, r.name, r.kind, tuple(r.members))


def rotation_of(r: RotationRow) -> Rotation:
    return Rotation(
        r.rotation_id, r.tenant, r.team_id, tuple(r.members), r.start, timedelta(seconds=r.shift_s)
    )


def referral_of(r: ReferralRow) -> Referral:
    return Referral(
        referral_id=r.referral_id,
        alert_id=r.alert_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        target_org=r.target_org,
        department=r.department,
        reason=r.reason,
        urgency=Urgency(r.urgency),
        green_channel=r.green_channel,
        requested_by=r.requested_by,
        requested_at=r.requested_at,
        state=ReferralState(r.state),
        updated_at=r.updated_at,
        updated_by=r.updated_by,
        note=r.note,
        evidence=r.evidence,
    )


def _timer_of(r: EscalationTimerRow) -> EscalationState:
    return EscalationState(
        alert_id=r.alert_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        group=r.group,
        priority=Priority(r.priority),
        tier=r.tier,
        due_at=r.due_at,
        reason=r.reason,
        repeats=r.repeats,
        flags=frozenset(r.flags),
        policy_version=r.policy_version,
    )


class CareStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- audit ----------------------------------------------------------------------------
    async def audit(
        self,
        at: datetime,
        actor: str | None,
        client: str | None,
        action: str,
        subject_type: str,
        subject_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self.db.session() as s, s.begin():
            s.add(
                AuditRow(
                    at=at,
                    actor=actor,
                    client=client,
                    action=action,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    detail=detail or {},
                )
            )

    async def audit_log(
        self,
        subject_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditRow]:
        stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
        if subject_id is not None:
            stmt = stmt.where(AuditRow.subject_id == subject_id)
        if actor is not None:
            stmt = stmt.where(AuditRow.actor == actor)
        if since is not None:
            stmt = stmt.where(AuditRow.at >= since)
        async with self.db.session() as s:
            return list((await s.scalars(stmt)).all())

    # -- escalation timers ----------------------------------------------------------------
    async def save_timers(self, upserts: Sequence[EscalationState], deleted: Sequence[str]) -> None:
        async with self.db.session() as s, s.begin():
            for alert_id in deleted:
                row = await s.get(EscalationTimerRow, alert_id)
                if row is not None:
                    await s.delete(row)
            for t in upserts:
                row = await s.get(EscalationTimerRow, t.alert_id)
                if row is None:
                    row = EscalationTimerRow(alert_id=t.alert_id)
                    s.add(row)
                row.tenant, row.patient_id, row.group = t.tenant, t.patient_id, t.group
                row.priority, row.tier, row.due_at = t.priority.value, t.tier, t.due_at
                row.reason, row.repeats, row.flags = t.reason, t.repeats, sorted(t.flags)
                row.policy_version = t.policy_version

    async def load_timers(self) -> list[EscalationState]:
        async with self.db.session() as s:
            return [_timer_of(r) for r in (await s.scalars(select(EscalationTimerRow))).all()]

    # -- assignments ----------------------------------------------------------------------
    async def assign(self, alert_id: str, assignee: str | None, by: str, at: datetime) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(AlertAssignmentRow, alert_id)
            if row is None:
                row = AlertAssignmentRow(alert_id=alert_id)
                s.add(row)
            row.assignee, row.assigned_by, row.assigned_at = assignee, by, at

    async def assignees(self, alert_ids: Sequence[str]) -> dict[str, str | None]:
        if not alert_ids:
            return {}
        stmt = select(AlertAssignmentRow).where(AlertAssignmentRow.alert_id.in_(alert_ids))
        async with self.db.session() as s:
            return {r.alert_id: r.assignee for r in (await s.scalars(stmt)).all()}

    # -- referrals ------------------------------------------------------------------------
    async def save_referral(self, r: Referral) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(ReferralRow, r.referral_id)
            if row is None:
                row = ReferralRow(referral_id=r.referral_id)
                s.add(row)
            row.alert_id, row.tenant, row.patient_id = r.alert_id, r.tenant, r.patient_id
            row.state, row.target_org, row.department = r.state.value, r.target_org, r.department
            row.reason, row.urgency, row.green_channel = r.reason, r.urgency.value, r.green_channel
            row.requested_by, row.requested_at = r.requested_by, r.requested_at
            row.updated_at, row.updated_by, row.note = r.updated_at, r.updated_by, r.note
            row.evidence = dict(r.evidence)

    async def get_referral(self, referral_id: str) -> Referral | None:
        async with self.db.session() as s:
            row = await s.get(ReferralRow, referral_id)
        return referral_of(row) if row else None

    async def list_referrals(
        self,
        alert_id: str | None = None,
        patient_id: str | None = None,
        state: str | None = None,
    ) -> list[Referral]:
        stmt = select(ReferralRow).order_by(ReferralRow.requested_at.desc())
        for col, value in (
            (ReferralRow.alert_id, alert_id),
            (ReferralRow.patient_id, patient_id),
            (ReferralRow.state, state),
        ):
            if value is not None:
                stmt = stmt.where(col == value)
        async with self.db.session() as s:
            return [referral_of(r) for r in (await s.scalars(stmt)).all()]

    # -- deliveries -----------------------------------------------------------------------
    async def record_delivery(
        self,
        *,
        key: str,
        alert_id: str,
        event: str,
        channel: str,
        target: str,
        status: str,
        attempts: int,
        at: datetime,
        error: str | None = None,
        receipt: dict[str, Any] | None = None,
    ) -> None:
        async with self.db.session() as s, s.begin():
            s.add(
                DeliveryRow(
                    idempotency_key=key,
                    alert_id=alert_id,
                    event=event,
                    channel=channel,
                    target=target,
                    status=status,
                    attempts=attempts,
                    at=at,
                    error=error,
                    receipt=receipt or {},
                )
            )

    async def deliveries(self, alert_id: str) -> list[DeliveryRow]:
        stmt = select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.id)
        async with self.db.session() as s:
            return list((await s.scalars(stmt)).all())

    # -- rosters --------------------------------------------------------------------------
    async def put_member(self, m: Member, now: datetime) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(CareMemberRow, m.member_id)
            if row is None:
                row = CareMemberRow(member_id=m.member_id)
                s.add(row)
            row.tenant, row.name, row.role, row.lang = m.tenant, m.name, m.role, m.lang
            row.contacts = [{"channel": c.channel, "address": c.address} for c in m.contacts]
            row.updated_at = now

    async def put_team(self, t: CareTeam, now: datetime) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(CareTeamRow, t.team_id)
            if row is None:
                row = CareTeamRow(team_id=t.team_id)
                s.add(row)
            row.tenant, row.name, row.kind = t.tenant, t.name, t.kind
            row.members, row.updated_at = list(t.members), now

    async def put_rotation(self, r: Rotation, now: datetime) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(RotationRow, r.rotation_id)
            if row is None:
                row = RotationRow(rotation_id=r.rotation_id)
                s.add(row)
            row.tenant, row.team_id, row.members = r.tenant, r.team_id, list(r.members)
            row.start, row.shift_s = r.start, r.shift.total_seconds()
            row.updated_at = now

    async def set_emergency_contacts(
        self, patient_id: str, tenant: str, contacts: Sequence[Member], relations: Sequence[str]
    ) -> None:
        async with self.db.session() as s, s.begin():
            stmt = select(EmergencyContactRow).where(EmergencyContactRow.patient_id == patient_id)
            for old in (await s.scalars(stmt)).all():
                await s.delete(old)
            for rank, (m, rel) in enumerate(zip(contacts, relations, strict=True)):
                s.add(
                    EmergencyContactRow(
                        patient_id=patient_id,
                        tenant=tenant,
                        name=m.name,
                        relation=rel,
                        lang=m.lang,
                        contacts=[{"channel": c.channel, "address": c.address} for c in m.contacts],
                        rank=rank,
                    )
                )

    async def delete(self, kind: str, key: str) -> bool:
        tables: dict[str, type[Base]] = {
            "team": CareTeamRow,
            "member": CareMemberRow,
            "rotation": RotationRow,
        }
        table = tables[kind]
        async with self.db.session() as s, s.begin():
            row = await s.get(table, key)
            if row is None:
                return False
            await s.delete(row)
        return True

    async def roster(self, tenant: str | None = None) -> Roster:
        """Everything a tier's targets can name, as one pure `Roster` value."""
        async with self.db.session() as s:

            def where(stmt: Any, col: Any) -> Any:
                return stmt.where(col == tenant) if tenant else stmt

            members = (await s.scalars(where(select(CareMemberRow), CareMemberRow.tenant))).all()
            teams = (await s.scalars(where(select(CareTeamRow), CareTeamRow.tenant))).all()
            rots = (await s.scalars(where(select(RotationRow), RotationRow.tenant))).all()
            ecs = (
                await s.scalars(
                    where(select(EmergencyContactRow), EmergencyContactRow.tenant).order_by(
                        EmergencyContactRow.rank
                    )
                )
            ).all()
            patients = (await s.scalars(where(select(PatientRow), PatientRow.tenant))).all()
        emergency: dict[str, list[Member]] = {}
        for e in ecs:
            emergency.setdefault(e.patient_id, []).append(
                Member(f"ec:{e.patient_id}:{e.rank}", e.tenant, e.name, e.relation or "family",
                       e.lang, _contacts(e.contacts))
            )  # fmt: skip
        return Roster(
            members={m.member_id: member_of(m) for m in members},
            teams={t.team_id: team_of(t) for t in teams},
            rotations={r.rotation_id: rotation_of(r) for r in rots},
            emergency_contacts=emergency,
            patient_teams={p.patient_id: p.care_team for p in patients if p.care_team},
        )
