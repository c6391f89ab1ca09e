"""Tables of remote ECG consultation: reading centres and the requests sent to them.

Declared on the schema's one `Base` (imported by `gateway.storage.database`, so the metadata is
whole wherever the schema is built); row classes stay inside `gateway.storage`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.tables import Base


class ConsultCentreRow(Base):
    __tablename__ = "consult_centres"

    centre_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lead: Mapped[str] = mapped_column(String(128))
    # cardiologists (roster order), senders (tenants), deadlines (s by priority), lease_s
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class ConsultRequestRow(Base):
    __tablename__ = "consult_requests"
    __table_args__ = (
        Index("ix_consult_requests_centre_due", "centre_id", "due_at"),
        Index("ix_consult_requests_tenant_patient", "tenant", "patient_id"),
    )

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    centre_id: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    proposed: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    first_claimed_at: Mapped[datetime | None]
    final_at: Mapped[datetime | None]
    receipt_by: Mapped[str | None] = mapped_column(String(128))
    receipt_at: Mapped[datetime | None]
    escalation_id: Mapped[str | None] = mapped_column(String(64))
    report_alert_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None]
    # report (current version), amendments (replaced versions), history (steps)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ecg: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
