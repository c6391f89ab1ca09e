"""The notification outbox on SQLite and PostgreSQL: entries stored inside a caller's
transaction (or not at all), pending until delivered, retried later."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.storage import OutboxEntry, Stores
from tests.gateway.storage.helpers import T0


def entry(key: str, channel: str = "mqtt") -> OutboxEntry:
    return OutboxEntry(key, channel, "a-1", "opened", {"event": "opened", "delivery_id": key}, T0)


async def test_entries_pending_until_delivered_and_retries_wait_their_turn(
    stores: Stores,
) -> None:
    box = stores.outbox
    stored = await box.add([entry("k1"), entry("k1", "webhook"), entry("k2")], T0)
    assert [e.id for e in stored] == sorted(e.id for e in stored)
    assert [(e.delivery_id, e.channel) for e in await box.pending(T0)] == [
        ("k1", "mqtt"), ("k1", "webhook"), ("k2", "mqtt"),
    ]  # fmt: skip
    await box.delivered([stored[0].id], T0)
    await box.retry(stored[1].id, 1, T0 + timedelta(seconds=30), "HTTP 503")
    assert [e.delivery_id for e in await box.pending(T0)] == ["k2"]
    later = await box.pending(T0 + timedelta(seconds=30))
    assert [(e.channel, e.attempts, e.error) for e in later] == [
        ("webhook", 1, "HTTP 503"), ("mqtt", 0, None),
    ]  # fmt: skip
    assert [e.delivery_id for e in await box.pending(T0, before=stored[2].id)] == []
    assert later[1].payload == {"event": "opened", "delivery_id": "k2"}
    trail = await box.of_alert("a-1")
    assert (trail[0][0].channel, trail[0][1]) == ("mqtt", T0)


async def failing_transaction(stores: Stores) -> None:
    async with stores.transaction() as tx:
        await stores.outbox.add([entry("lost")], T0, tx=tx)
        raise RuntimeError("the alert events could not be stored")


async def test_entries_are_written_with_their_transaction_or_not_at_all(stores: Stores) -> None:
    with pytest.raises(RuntimeError):
        await failing_transaction(stores)
    assert await stores.outbox.pending(T0) == []
    async with stores.transaction() as tx:
        await stores.outbox.add([entry("kept")], T0, tx=tx)
    assert [e.delivery_id for e in await stores.outbox.pending(T0)] == ["kept"]
