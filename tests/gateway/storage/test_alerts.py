"""Alerts, their trail of events and their assignee, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alerts.model import Alert, AlertEvent, EventType, Priority, State
from gateway.storage import AlertRecord, Stores
from tests.gateway.storage.helpers import T0


def alert(state: State = State.OPEN, **kw: object) -> Alert:
    fields: dict[str, object] = {
        "alert_id": "a-1",
        "tenant": "t1",
        "patient_id": "p-1",
        "code": "bp.hypertensive_crisis",
        "group": "bp.hypertensive_crisis",
        "priority": Priority.HIGH,
        "state": state,
        "opened_at": T0,
        "updated_at": T0,
        "source_ts": T0,
        "message": {"en": "BP 182/121", "zh-CN": "血压 182/121"},
        "evidence": {"systolic": 182},
    }
    fields.update(kw)
    return Alert(**fields)  # type: ignore[arg-type]


async def test_alerts_and_their_trail(stores: Stores) -> None:
    store, records = stores.alerts, stores.records
    opened = alert()
    acked = alert(
        State.ACKNOWLEDGED,
        acknowledged_by="dr-li",
        acknowledged_at=T0 + timedelta(minutes=2),
        updated_at=T0 + timedelta(minutes=2),
        assignee="dr-li",
    )
    opening = [AlertEvent(EventType.OPENED, T0, opened)]
    await records.commit(AlertRecord(at=T0, events=opening, client="gw"))
    ack = AlertEvent(EventType.ACKNOWLEDGED, T0 + timedelta(minutes=2), acked, actor="dr-li")
    await records.commit(AlertRecord(at=ack.at, events=[ack], client="api"))
    got = await store.get("a-1")
    assert got is not None
    assert got.state is State.ACKNOWLEDGED
    assert got.acknowledged_by == "dr-li"
    assert got.assignee == "dr-li"  # the acknowledging clinician took it
    assert got.message["zh-CN"] == "血压 182/121"
    assert await store.get("a-1", tenant="t2") is None
    assert [a.alert_id for a in await store.active("t1")] == ["a-1"]
    assert await store.active("t2") == []
    assert await store.query(state="open") == []
    assert len(await store.query(patient_id="p-1", since=T0)) == 1
    assert await store.query(tenant="t2") == []
    trail = await store.events("a-1")
    assert [(e.event, e.actor, e.client) for e in trail] == [
        (EventType.OPENED, None, "gw"),
        (EventType.ACKNOWLEDGED, "dr-li", "api"),
    ]
    assert trail[1].at == T0 + timedelta(minutes=2)
    resolved = replace(acked, state=State.RESOLVED, resolved_at=T0 + timedelta(hours=1))
    end = AlertEvent(EventType.RESOLVED, T0 + timedelta(hours=1), resolved)
    await records.commit(AlertRecord(at=end.at, events=[end]))
    assert await store.active() == []


async def test_assignment_is_kept_apart_from_the_trail(stores: Stores) -> None:
    store = stores.alerts
    await stores.records.commit(
        AlertRecord(at=T0, events=[AlertEvent(EventType.OPENED, T0, alert())])
    )
    await store.assign("a-1", "nurse-zhou", "dr-li", T0 + timedelta(minutes=1))
    got = await store.get("a-1")
    assert got is not None
    assert got.assignee == "nurse-zhou"
    assert [e.event for e in await store.events("a-1")] == [EventType.OPENED]
    await store.assign("a-1", None, "dr-li", T0 + timedelta(minutes=2))
    listed = await store.query()
    assert [a.assignee for a in listed] == [None]
