"""The notification outbox on SQLite and PostgreSQL: entries stored inside a caller's
transaction (or not at all), pending until delivered, retried later, leased to one sender at a
time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from gateway.storage import Database, OutboxEntry, OutboxStore, Stores
from gateway.storage.deliveries import Delivery
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
    await box.settle([stored[0].id], T0)
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


async def test_settle_marks_and_logs_together_or_not_at_all(stores: Stores) -> None:
    box = stores.outbox
    first, second = await box.add([entry("k1"), entry("k2")], T0)

    def delivery(key: str, at: datetime = T0) -> Delivery:
        return Delivery(key, "a-1", "opened", "mqtt", "hm/alerts", "delivered", 1, at)

    await box.settle([first.id], T0, [delivery("k1")])
    assert [e.delivery_id for e in await box.pending(T0)] == ["k2"]
    assert [d.key for d in await stores.deliveries.of_alert("a-1")] == ["k1"]
    naive = delivery("k2", T0.replace(tzinfo=None))  # the log row is refused
    with pytest.raises(StatementError, match="naive datetime"):
        await box.settle([second.id], T0, [naive])
    assert [e.delivery_id for e in await box.pending(T0)] == ["k2"]  # not marked either
    assert [d.key for d in await stores.deliveries.of_alert("a-1")] == ["k1"]


async def test_a_claim_leases_entries_to_one_sender_until_the_lease_runs_out(
    stores: Stores,
) -> None:
    box = stores.outbox
    stored = await box.add([entry("k1"), entry("k2"), entry("k3", "webhook")], T0)
    await box.settle([stored[1].id], T0)
    until = T0 + timedelta(seconds=10)
    taken = await box.claim(T0, until, channels=["mqtt"])
    assert [(e.delivery_id, e.due_at) for e in taken] == [("k1", until)]  # not the delivered
    assert await box.claim(T0, until, channels=["mqtt"]) == []  # leased: nobody else gets it
    assert [e.delivery_id for e in await box.claim(T0, until)] == ["k3"]
    # The holder keeps it; once it stops renewing, the lease runs out and another takes it.
    await box.lease([stored[0].id], T0 + timedelta(seconds=20))
    assert await box.claim(until, until + timedelta(seconds=10), channels=["mqtt"]) == []
    later = T0 + timedelta(seconds=20)
    assert [e.delivery_id for e in await box.claim(later, later)] == ["k1", "k3"]


async def test_senders_racing_for_the_same_entries_take_each_once(
    stores: Stores, db_url: str
) -> None:
    """Two processes' sweeps at the same moment, each on its own connection."""
    box = stores.outbox
    await box.add([entry(f"k{i}") for i in range(40)], T0)
    other = Database(db_url)
    try:
        until = T0 + timedelta(seconds=10)
        mine, theirs = await asyncio.gather(
            *(OutboxStore(db).claim(T0, until, limit=25) for db in (stores.db, other))
        )
    finally:
        await other.dispose()
    keys = [e.delivery_id for e in (*mine, *theirs)]
    assert len(keys) == len(set(keys))  # no entry taken by both
    assert len(keys) >= 25
