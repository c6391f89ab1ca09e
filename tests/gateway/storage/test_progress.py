"""Detection progress: starts at 0, moves forward only, commits with the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.storage import Database, ProgressStore

T = datetime(2026, 11, 29, 8, tzinfo=UTC)


async def test_progress_moves_forward_only(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.create_schema()
        store = ProgressStore(db)
        assert await store.get("p.3") == 0
        await store.advance("p.3", 41, T)
        await store.advance("p.3", 17, T)  # a late writer does not undo progress
        assert await store.get("p.3") == 41
        assert await store.get("p.4") == 0
    finally:
        await db.dispose()


async def test_progress_rolls_back_with_its_transaction(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.create_schema()
        store = ProgressStore(db)

        async def failing_batch() -> None:
            async with db.transaction() as tx:
                await store.advance("local", 9, T, tx=tx)
                raise RuntimeError("the alert events failed to store")

        with pytest.raises(RuntimeError):
            await failing_batch()
        assert await store.get("local") == 0
    finally:
        await db.dispose()
