"""Tables of the elder's shared record: consent to share with the regional platform.

Declared on the one `Base.metadata` of `gateway.storage.tables` (imported by
`gateway.storage.database.all_metadata`, so `create_schema` and Alembic see them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
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
