"""Alembic: `upgrade head` on an empty PostgreSQL (and SQLite) gives exactly the schema of the
models; a database made before the audit hash chain is migrated with its rows chained."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from gateway.actor import Actor, Role
from gateway.storage.audit import AuditEntry, AuditStore
from gateway.storage.auditchain import ChainReport, verify_chain
from gateway.storage.database import Database, alembic_config, all_metadata
from gateway.storage.tables import UTCDateTime
from tests.gateway.storage.helpers import T0
from tests.support.postgres import throwaway_database

pytestmark = pytest.mark.integration


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, all_metadata()))


async def test_upgrade_head_matches_models() -> None:
    with throwaway_database("hmg_migr") as url:
        db = Database(url)
        try:
            await db.create_schema()  # Alembic upgrade head on PostgreSQL
            await db.create_schema()  # idempotent on restart
            async with db.engine.connect() as conn:
                diff = await conn.run_sync(_diff)
        finally:
            await db.dispose()
    assert diff == [], f"migrations are stale, run `alembic revision --autogenerate`: {diff}"


BEFORE_CHAIN = "8d4f1b6e2c93"
LEGACY_AUDIT = sa.table(
    "audit_log",
    sa.column("at", UTCDateTime()),
    *(
        sa.column(c, sa.String())
        for c in ("actor", "client", "action", "subject_type", "subject_id")
    ),
    sa.column("detail", sa.JSON()),
)


def _at(revision: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return run


async def _legacy(url: str, revision: str, *, stamped: bool) -> None:
    """A database at `revision` (before the hash chain) with three audit rows; `stamped=False`
    drops its Alembic version, as SQLite files made by `create_all` had none."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_at(revision))
            await conn.execute(
                LEGACY_AUDIT.insert(),
                [
                    {"at": T0 + timedelta(minutes=i), "actor": "admin", "client": "cli",
                     "action": "put", "subject_type": "member", "subject_id": f"m-{i}",
                     "detail": {"value": {"name": f"Member {i}", "n": i}}}
                    for i in range(3)
                ],
            )  # fmt: skip
            if not stamped:
                await conn.execute(sa.text("DROP TABLE alembic_version"))
    finally:
        await db.dispose()


async def _migrated_chain(url: str) -> list[ChainReport]:
    """Migrate to head the way the gateway starts, then: the chain as migrated; after a new
    append; after a migrated row is edited."""
    db = Database(url)
    try:
        await db.create_schema()
        reports = [await verify_chain(db)]
        actor = Actor("admin", Role.ADMIN, "t1")
        await AuditStore(db).append(AuditEntry.by(actor, T0, "delete", "member", "m-0"))
        reports.append(await verify_chain(db))
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("UPDATE audit_log SET subject_id = 'm-9' WHERE id = 2"))
        reports.append(await verify_chain(db))
    finally:
        await db.dispose()
    return reports


def _check(reports: list[ChainReport]) -> None:
    migrated, appended, edited = reports
    assert (migrated.ok, migrated.rows) == (True, 3)
    assert (appended.ok, appended.rows) == (True, 4)
    assert (edited.ok, edited.broken_id) == (False, 2)


async def test_postgresql_migration_chains_existing_audit_rows() -> None:
    with throwaway_database("hmg_migr") as url:
        await _legacy(url, BEFORE_CHAIN, stamped=True)
        _check(await _migrated_chain(url))


@pytest.mark.parametrize(
    ("revision", "stamped"),
    [(BEFORE_CHAIN, True), (BEFORE_CHAIN, False), ("5e2a9c7b3f40", False), ("3b9e6f2a7d10", False)],
)
async def test_sqlite_file_migrated_at_start_with_existing_audit_rows(
    tmp_path: Path, revision: str, stamped: bool
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await _legacy(url, revision, stamped=stamped)
    _check(await _migrated_chain(url))


async def test_sqlite_schema_new_or_migrated_is_the_models_schema(tmp_path: Path) -> None:
    fresh = Database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    migrated = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await fresh.create_schema()  # create_all, stamped head
        await fresh.create_schema()  # nothing to do on restart
        async with migrated.engine.begin() as conn:
            await conn.run_sync(_at("head"))
        for db in (fresh, migrated):
            async with db.engine.connect() as conn:
                assert await conn.run_sync(_diff) == []
                heads = await conn.scalars(sa.text("SELECT version_num FROM alembic_version"))
                assert list(heads) == [
                    ScriptDirectory.from_config(alembic_config()).get_current_head()
                ]
    finally:
        await fresh.dispose()
        await migrated.dispose()
