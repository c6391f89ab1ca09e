"""Tables of the elder's shared and followed-up record: consent to share with the regional
platform, follow-up tasks.

Declared on the one `Base.metadata` of `gateway.storage.tables` (imported by
`gateway.storage.database.all_metadata`, so `create_schema` and Alembic see them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.tables import Base


class ConsentRow(Base):
    """Whether the elder agreed that the tenant shares their record with the regional platform
    (`active`) or took it back (`withdrawn`); one row per patient, its history in the audit."""

    __tablename__ = "record_consents"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class FollowupTaskRow(Base):
    """A follow-up the family-doctor team owes an elder under a follow-up rule: due by `due_at`,
    done at `done_at`; an overdue one is escalated to the team lead (`escalated_to`)."""

    __tablename__ = "followup_tasks"
    __table_args__ = (Index("ix_followup_open", "tenant", "done_at", "due_at"),)

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalated_to: Mapped[str | None] = mapped_column(String(64))


class ResultsNoticeRow(Base):
    """A plain-language results notice for an elder and family (after a kiosk visit), tracked
    from composition to delivery against the tenant's deadline."""

    __tablename__ = "results_notices"
    __table_args__ = (Index("ix_results_notices_tenant", "tenant", "created_at"),)

    notice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(32))
    measured_at: Mapped[datetime]
    created_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    delivered_at: Mapped[datetime | None]
    delivered_to: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
