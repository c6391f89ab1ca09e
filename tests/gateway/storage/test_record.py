"""The alert record on SQLite and PostgreSQL: one commit writes the events, timers, audit entry,
outbox entries and progress of an alert change, or none of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.escalation import EscalationState
from alerts.model import AlertEvent, EventType, Priority
from alerts.outcome import TimerChanges
from gateway.actor import Actor, Role
from gateway.storage import AlertRecord, AuditEntry, OutboxEntry, Progress, Stores, Transaction
from tests.gateway.storage.helpers import T0
from tests.gateway.storage.test_alerts import alert

LI = Actor("dr-li", Role.CLINICIAN, "t1", "tablet")


def change(seq: int = 7) -> AlertRecord:
    timer = EscalationState("a-1", "t1", "p-1", "g", Priority.HIGH, 0, T0 + timedelta(minutes=5))
    return AlertRecord(
        at=T0,
        events=[AlertEvent(EventType.OPENED, T0, alert())],
        timers=TimerChanges(saved=(timer,)),
        client="gateway",
        audit=(AuditEntry.by(LI, T0, "comment", "alert", "a-1", {"text": "seen"}),),
        outbox=[
            OutboxEntry("k1", "mqtt", "a-1", "opened", {"event": "opened"}, T0),
            OutboxEntry("k1", "sse", "a-1", "opened", {"event": "opened"}, T0),
        ],
        progress=Progress("local", seq),
    )


async def test_one_commit_writes_the_whole_change(stores: Stores) -> None:
    stored = await stores.records.commit(change())
    assert [(e.channel, e.created_at) for e in stored] == [("mqtt", T0), ("sse", T0)]
    assert all(e.id > 0 for e in stored)
    assert [e.id for e in await stores.outbox.pending(T0)] == [e.id for e in stored]
    got = await stores.alerts.get("a-1")
    assert got is not None
    assert [(e.event, e.client) for e in await stores.alerts.events("a-1")] == [
        (EventType.OPENED, "gateway")
    ]
    assert [t.alert_id for t in await stores.timers.load()] == ["a-1"]
    assert [e.action for e in await stores.audit.entries(subject_id="a-1")] == ["comment"]
    assert await stores.progress.get("local") == 7


async def test_a_failed_commit_writes_nothing(stores: Stores) -> None:
    async def refused(tx: Transaction) -> None:
        raise RuntimeError("the other write of the change failed")

    with pytest.raises(RuntimeError, match="other write"):
        await stores.records.commit(change(), also=refused)
    assert await stores.alerts.get("a-1") is None
    assert await stores.timers.load() == []
    assert await stores.audit.entries() == []
    assert await stores.outbox.pending(T0) == []
    assert await stores.progress.find("local") is None


async def test_progress_never_goes_back(stores: Stores) -> None:
    await stores.records.commit(AlertRecord(at=T0, progress=Progress("local", 9)))
    await stores.records.commit(AlertRecord(at=T0, progress=Progress("local", 4)))
    assert await stores.progress.get("local") == 9


def test_a_record_s_time_is_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        AlertRecord(at=T0.replace(tzinfo=None))
