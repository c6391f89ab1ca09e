"""The relational record on SQLite and PostgreSQL: patients, devices, bindings, alerts, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from alerts.model import Alert, AlertEvent, EventType, Priority, State
from devices.registry import Binding, Device
from gateway.storage import Database, DeadLetter, RecordStore
from tests.gateway.storage.helpers import T0


@pytest.fixture
async def records(db_url: str) -> AsyncIterator[RecordStore]:
    db = Database(db_url)
    await db.create_schema()
    yield RecordStore(db)
    await db.dispose()


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


async def test_patients_upsert_and_list(records: RecordStore) -> None:
    await records.upsert_patient("p-2", "t1", T0, name="王芳", birth_year=1941)
    await records.upsert_patient("p-1", "t2", T0, lives_alone=True)
    await records.upsert_patient("p-2", "t1", T0, targets={"target_systolic": 150.0})
    p2 = await records.get_patient("p-2")
    assert p2 is not None
    assert (p2.name, p2.birth_year, p2.targets) == ("王芳", 1941, {"target_systolic": 150.0})
    assert p2.created_at == T0
    assert [p.patient_id for p in await records.list_patients()] == ["p-1", "p-2"]
    assert [p.patient_id for p in await records.list_patients("t2")] == ["p-1"]


async def test_devices_and_binding_history(records: RecordStore) -> None:
    cuff = Device(
        "cuff-1",
        "t1",
        "bp",
        bindings=(Binding("p-1", T0), Binding("p-2", T0 + timedelta(days=3))),
    )
    await records.save_device(cuff, T0)
    await records.save_device(Device("kiosk-1", "t1", "bp", kiosk=True), T0)
    loaded = {d.device_id: d for d in await records.load_devices()}
    assert loaded["cuff-1"].bindings == cuff.bindings
    assert loaded["kiosk-1"].kiosk
    assert {p.patient_id for p in await records.list_patients()} == {"p-1", "p-2"}
    retired = Device(
        "cuff-1", "t1", "bp", retired_at=T0 + timedelta(days=9), bindings=(Binding("p-2", T0),)
    )
    await records.save_device(retired, T0)
    again = {d.device_id: d for d in await records.load_devices()}
    assert again["cuff-1"].retired_at == T0 + timedelta(days=9)
    assert again["cuff-1"].bindings == (Binding("p-2", T0),)


async def test_alerts_and_audit_trail(records: RecordStore) -> None:
    opened = alert()
    acked = alert(
        State.ACKNOWLEDGED,
        acknowledged_by="dr-li",
        acknowledged_at=T0 + timedelta(minutes=2),
        updated_at=T0 + timedelta(minutes=2),
    )
    await records.save_events([AlertEvent(EventType.OPENED, T0, opened)], client="gw")
    await records.save_events(
        [AlertEvent(EventType.ACKNOWLEDGED, T0 + timedelta(minutes=2), acked, actor="dr-li")],
        client="api",
    )
    got = await records.get_alert("a-1")
    assert got is not None
    assert got.state is State.ACKNOWLEDGED
    assert got.acknowledged_by == "dr-li"
    assert got.message["zh-CN"] == "血压 182/121"
    assert [a.alert_id for a in await records.active_alerts("t1")] == ["a-1"]
    assert await records.list_alerts(state="open") == []
    assert len(await records.list_alerts(patient_id="p-1", since=T0)) == 1
    trail = await records.alert_events("a-1")
    assert [(e.event, e.actor, e.client) for e in trail] == [
        ("opened", None, "gw"),
        ("acknowledged", "dr-li", "api"),
    ]
    assert trail[1].at == T0 + timedelta(minutes=2)
    resolved = alert(State.RESOLVED, resolved_at=T0 + timedelta(hours=1))
    await records.save_events([AlertEvent(EventType.RESOLVED, T0 + timedelta(hours=1), resolved)])
    assert await records.active_alerts() == []


async def test_deadletters(records: RecordStore) -> None:
    letter = DeadLetter("t1", "hm/v1/t1/x/bp", "json", "bad", b"\xff{", T0)
    await records.save_deadletters([letter, letter])
    assert await records.count_deadletters() == 2
    rows = await records.list_deadletters("t1", "json")
    assert rows[0].payload == b"\xff{"
