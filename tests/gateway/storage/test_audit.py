"""The audit trail, and a change written with its audit entry in one transaction: both or
neither (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.model import AlertEvent, EventType
from gateway.storage import AuditEntry, Stores
from tests.gateway.storage.helpers import T0
from tests.gateway.storage.test_alerts import alert


async def test_entries_filtered_by_subject_actor_and_time(stores: Stores) -> None:
    audit = stores.audit
    await audit.append(AuditEntry(T0, "dr-li", "tablet", "comment", "alert", "a-1", {"text": "x"}))
    await audit.append(
        AuditEntry(T0 + timedelta(minutes=5), "admin", None, "put", "member", "dr-li")
    )
    assert [e.action for e in await audit.entries()] == ["comment", "put"]
    (only,) = await audit.entries(subject_id="a-1")
    assert (only.actor, only.client, dict(only.detail)) == ("dr-li", "tablet", {"text": "x"})
    assert [e.subject_type for e in await audit.entries(actor="admin")] == ["member"]
    assert len(await audit.entries(since=T0 + timedelta(minutes=1))) == 1


async def test_a_change_and_its_audit_entry_commit_together(stores: Stores) -> None:
    opened = AlertEvent(EventType.OPENED, T0, alert())
    entry = AuditEntry(T0, "dr-li", "tablet", "acknowledge", "alert", "a-1")

    async def fail_after_writing() -> None:
        async with stores.transaction() as tx:
            await stores.alerts.save_events([opened], "api", tx=tx)
            await stores.audit.append(entry, tx=tx)
            raise RuntimeError("failed before commit")

    with pytest.raises(RuntimeError):
        await fail_after_writing()
    assert await stores.alerts.get("a-1") is None
    assert await stores.audit.entries() == []
    async with stores.transaction() as tx:
        await stores.alerts.save_events([opened], "api", tx=tx)
        await stores.audit.append(entry, tx=tx)
    assert await stores.alerts.get("a-1") is not None
    assert await stores.audit.entries() == [entry]
