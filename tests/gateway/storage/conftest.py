"""The relational stores on each backend (SQLite file, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.storage import Database, Stores


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[Stores]:
    db = Database(db_url)
    await db.create_schema()
    yield Stores.of(db)
    await db.dispose()
