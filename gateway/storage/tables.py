"""Every relational table of the gateway, in one module (SQLAlchemy 2, SQLite and PostgreSQL).

Row classes stay inside `gateway.storage`: each store turns them into domain values (dataclasses)
before they leave. `Base.metadata` here is the whole schema: `Database.create_schema` and the
Alembic environment read it, and a migration is needed whenever it changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Older migrations name the type here.
from gateway.storage.utc import UTCDateTime as UTCDateTime  # noqa: PLC0414

_ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


# A patient is keyed by (tenant, patient id): the id is the tenant's own, so two tenants may
# both have "p-001". Tables that name a patient carry both columns and look it up by both.
PATIENT_KEY = ("tenant", "patient_id")
PATIENT_REF = ("patients.tenant", "patients.patient_id")


class PatientRow(Base):
    __tablename__ = "patients"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    lives_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    care_team: Mapped[str | None] = mapped_column(String(64))
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    # What a responder and the care team need to know (free text, as the tenant records it).
    sex: Mapped[str | None] = mapped_column(String(16))
    conditions: Mapped[str | None] = mapped_column(Text)
    medications: Mapped[str | None] = mapped_column(Text)
    allergies: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    access_notes: Mapped[str | None] = mapped_column(Text)


class DeviceRow(Base):
    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    kiosk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class BindingRow(Base):
    __tablename__ = "device_bindings"
    __table_args__ = (
        ForeignKeyConstraint(PATIENT_KEY, PATIENT_REF, name="fk_device_bindings_patient"),
        Index("ix_device_bindings_patient", *PATIENT_KEY),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id"), index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]


class ReadingRow(Base):
    """One reading; ECG chunks keep their samples as little-endian int32 bytes in one row."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("device_id", "seq", name="uq_readings_device_seq"),
        Index("ix_readings_patient_kind_ts", *PATIENT_KEY, "kind", "ts"),
        # Retention deletes by kind and age.
        Index("ix_readings_kind_ts", "kind", "ts"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    received_at: Mapped[datetime]
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[str] = mapped_column(String(200), default="")
    ecg_fs: Mapped[float | None] = mapped_column(Float)
    ecg_gain: Mapped[float | None] = mapped_column(Float)
    ecg_baseline: Mapped[int | None] = mapped_column(Integer)
    ecg_lead: Mapped[str | None] = mapped_column(String(16))
    ecg_samples: Mapped[bytes | None] = mapped_column(LargeBinary)


class JournalRow(Base):
    """A vital-sign reading as the readings backend stored it, numbered in storing order, for a
    backend that cannot number what it stores (InfluxDB): what the platform push and the results
    notices follow. Rows every follower has passed are pruned."""

    __tablename__ = "reading_journal"
    __table_args__ = (UniqueConstraint("device_id", "seq", name="uq_reading_journal_device_seq"),)

    position: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    received_at: Mapped[datetime]
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[str] = mapped_column(String(200), default="")


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_patient_state", *PATIENT_KEY, "state"),)

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64), index=True)
    group: Mapped[str] = mapped_column(String(128))
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    technical: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    source_ts: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    escalation_tier: Mapped[int] = mapped_column(Integer, default=0)
    updates: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A serious alert that cleared before anyone acted stays for review (`AlertStore.review`).
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None]


class AlertEventRow(Base):
    """Audit trail of every alert transition: who, what, when, from which client."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeadLetterRow(Base):
    __tablename__ = "deadletters"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


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
    __table_args__ = (
        ForeignKeyConstraint(PATIENT_KEY, PATIENT_REF, name="fk_emergency_contacts_patient"),
        Index("ix_emergency_contacts_patient", *PATIENT_KEY),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64))
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


class StreamProgressRow(Base):
    """Per stream (a scaled-out partition, or the single gateway's readings table): the last
    position whose alert events are stored. Written in the same transaction as those events."""

    __tablename__ = "stream_progress"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(_ID)
    updated_at: Mapped[datetime]


class OutboxRow(Base):
    """A notification to send on one broadcast channel, written in the same transaction as the
    alert event it belongs to (transactional outbox); `delivered_at` is set once it is sent."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("delivery_id", "channel", name="uq_outbox_delivery_channel"),
        Index("ix_outbox_pending", "delivered_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
