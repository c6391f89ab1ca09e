"""Local accounts of the embedded issuer (people and integrations), Argon2id hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from gateway.actor import Role
from gateway.auth.model import Account, AccountKind
from gateway.storage.access_tables import AccountRow, RevokedTokenRow
from gateway.storage.database import Database, Transaction


def _account(r: AccountRow) -> Account:
    return Account(
        name=r.name,
        kind=AccountKind(r.kind),
        role=Role(r.role),
        tenant=r.tenant,
        display_name=r.display_name,
        secret_hash=r.secret_hash,
        disabled=r.disabled,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, name: str) -> Account | None:
        async with self.db.session() as s:
            row = await s.get(AccountRow, name)
            return _account(row) if row else None

    async def list(self, tenant: str | None = None) -> list[Account]:
        stmt = select(AccountRow).order_by(AccountRow.tenant, AccountRow.name)
        if tenant is not None:
            stmt = stmt.where(AccountRow.tenant == tenant)
        async with self.db.session() as s:
            return [_account(r) for r in (await s.scalars(stmt)).all()]

    async def add(self, a: Account, now: datetime, *, tx: Transaction | None = None) -> bool:
        """Create the account; False when the name is taken. Pass `tx` to write it together
        with its audit entry."""
        async with self.db.writing(tx) as s:
            if await s.get(AccountRow, a.name) is not None:
                return False
            s.add(
                AccountRow(
                    name=a.name,
                    kind=a.kind.value,
                    role=a.role.value,
                    tenant=a.tenant,
                    display_name=a.display_name,
                    secret_hash=a.secret_hash,
                    disabled=a.disabled,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True

    async def update(
        self,
        name: str,
        now: datetime,
        *,
        secret_hash: str | None = None,
        disabled: bool | None = None,
        tx: Transaction | None = None,
    ) -> bool:
        async with self.db.writing(tx) as s:
            row = await s.get(AccountRow, name)
            if row is None:
                return False
            if secret_hash is not None:
                row.secret_hash = secret_hash
            if disabled is not None:
                row.disabled = disabled
            row.updated_at = now
            return True

    # -- signed-out tokens ----------------------------------------------------------------
    async def revoke(self, token_id: str, user: str, expires_at: datetime, now: datetime) -> None:
        """Refuse token `token_id` from now until it expires (expired entries are purged)."""
        async with self.db.session() as s, s.begin():
            await s.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < now))
            if await s.get(RevokedTokenRow, token_id) is None:
                s.add(
                    RevokedTokenRow(
                        token_id=token_id, user=user, expires_at=expires_at, revoked_at=now
                    )
                )

    async def revoked(self, token_id: str) -> bool:
        async with self.db.session() as s:
            return await s.get(RevokedTokenRow, token_id) is not None
