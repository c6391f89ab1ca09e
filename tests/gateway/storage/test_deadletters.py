"""Dead letters kept with their reason, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from gateway.storage import DeadLetter, Stores
from tests.gateway.storage.helpers import T0


async def test_deadletters_kept_listed_and_expired(stores: Stores) -> None:
    store = stores.deadletters
    letter = DeadLetter("t1", "hm/v1/t1/x/bp", "json", "bad", b"\xff{", T0)
    await store.save([letter, letter])
    await store.save([DeadLetter("t2", "hm/v1/t2/y/bp", "schema", "", b"{}", T0 + timedelta(1))])
    assert await store.count() == 3
    rows = await store.query(tenant="t1", reason="json")
    assert [r.payload for r in rows] == [b"\xff{", b"\xff{"]
    assert all(r.id is not None for r in rows)
    assert [r.tenant for r in await store.query()] == ["t2", "t1", "t1"]  # newest first
    assert await store.delete_before(T0 + timedelta(hours=1)) == 2
    assert await store.count() == 1
