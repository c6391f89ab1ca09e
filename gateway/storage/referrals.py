"""Referrals of patients to hospitals, with the evidence frozen into each one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from alerts.referral import Referral, ReferralEvidence, ReferralState, Urgency
from gateway.storage.database import Database, Transaction
from gateway.storage.tables import ReferralRow


def _referral_of(r: ReferralRow) -> Referral:
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
        evidence=ReferralEvidence.of_json(r.evidence or {}),
    )


class ReferralStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, r: Referral, *, tx: Transaction | None = None) -> None:
        """Insert a new referral or replace the stored one of the same id."""
        async with self.db.writing(tx) as s:
            row = await s.get(ReferralRow, r.referral_id)
            if row is None:
                row = ReferralRow(referral_id=r.referral_id)
                s.add(row)
            row.alert_id, row.tenant, row.patient_id = r.alert_id, r.tenant, r.patient_id
            row.state, row.target_org, row.department = r.state.value, r.target_org, r.department
            row.reason, row.urgency, row.green_channel = r.reason, r.urgency.value, r.green_channel
            row.requested_by, row.requested_at = r.requested_by, r.requested_at
            row.updated_at, row.updated_by, row.note = r.updated_at, r.updated_by, r.note
            row.evidence = r.evidence.to_json()

    async def get(self, referral_id: str, tenant: str | None = None) -> Referral | None:
        async with self.db.session() as s:
            row = await s.get(ReferralRow, referral_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            return None
        return _referral_of(row)

    async def query(
        self,
        *,
        tenant: str | None = None,
        alert_id: str | None = None,
        patient_id: str | None = None,
        state: ReferralState | None = None,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[Referral]:
        """Newest first (at most `limit`), filtered by whichever of the arguments are given;
        `after` continues a list past the (requested_at, referral_id) it ended with."""
        stmt = select(ReferralRow).order_by(
            ReferralRow.requested_at.desc(), ReferralRow.referral_id.desc()
        )
        if after is not None:
            at, last = after
            stmt = stmt.where(
                or_(
                    ReferralRow.requested_at < at,
                    and_(ReferralRow.requested_at == at, ReferralRow.referral_id < last),
                )
            )
        for col, value in (
            (ReferralRow.tenant, tenant),
            (ReferralRow.alert_id, alert_id),
            (ReferralRow.patient_id, patient_id),
            (ReferralRow.state, state.value if state is not None else None),
        ):
            if value is not None:
                stmt = stmt.where(col == value)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.db.session() as s:
            return [_referral_of(r) for r in (await s.scalars(stmt)).all()]
