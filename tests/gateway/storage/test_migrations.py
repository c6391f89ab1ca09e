"""Alembic: `upgrade head` on an empty PostgreSQL gives exactly the schema of the models."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from gateway.storage.database import Database, all_metadata
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
