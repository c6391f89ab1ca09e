"""The audit trail on SQLite and PostgreSQL: entries with who/role/tenant and before/after, a
change and its entry committed together, the hash chain (untouched passes; a row edited, deleted
or slipped in behind the store's back is named), concurrent writers that cannot fork it, reads
committed in groups, and the tenant's page newest first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from alerts.model import AlertEvent, EventType
from gateway.actor import Actor, Role
from gateway.storage import AlertRecord, AuditEntry, OutboxEntry, Stores
from gateway.storage import record as alert_records
from gateway.storage.auditchain import GENESIS, row_hash, verify_chain
from tests.gateway.storage.helpers import T0
from tests.gateway.storage.test_alerts import alert

LI = Actor("dr-li", Role.CLINICIAN, "t1", "tablet")
ADMIN = Actor("admin", Role.ADMIN, "t1", "console")
OTHER = Actor("dr-wu", Role.CLINICIAN, "t2", "tablet")


def note(actor: Actor, minutes: int, subject: str = "a-1", text_: str = "x") -> AuditEntry:
    return AuditEntry.by(
        actor, T0 + timedelta(minutes=minutes), "comment", "alert", subject, {"text": text_}
    )


async def sql(stores: Stores, statement: str) -> None:
    async with stores.db.engine.begin() as conn:
        await conn.execute(text(statement))


async def test_entries_filtered_by_subject_actor_tenant_and_time(stores: Stores) -> None:
    audit = stores.audit
    await audit.append(note(LI, 0))
    change = AuditEntry.by(
        ADMIN, T0 + timedelta(minutes=5), "set_targets", "patient", "p-1",
        before={"target_systolic": 160.0}, after={"target_systolic": 150.0},
    )  # fmt: skip
    await audit.append(change)
    await audit.append(note(OTHER, 6, "a-2"))
    assert [e.action for e in await audit.entries()] == ["comment", "set_targets", "comment"]
    (only,) = await audit.entries(subject_id="a-1")
    assert (only.actor, only.role, only.tenant, only.client) == ("dr-li", Role.CLINICIAN, "t1",
                                                                 "tablet")  # fmt: skip
    assert dict(only.detail) == {"text": "x"}
    (stored,) = await audit.entries(actor="admin")
    assert stored == change
    assert (stored.before, stored.after) == ({"target_systolic": 160.0}, {"target_systolic": 150.0})
    assert [e.actor for e in await audit.entries(tenant="t2")] == ["dr-wu"]
    assert len(await audit.entries(since=T0 + timedelta(minutes=1))) == 2


async def test_a_change_and_its_audit_entry_commit_together(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = AlertEvent(EventType.OPENED, T0, alert())
    entry = AuditEntry.by(LI, T0, "acknowledge", "alert", "a-1")
    change = AlertRecord(at=T0, events=[opened], client="api", audit=(entry,))

    async def fail_after_writing(*_: object) -> list[OutboxEntry]:
        raise RuntimeError("failed before commit")  # the events and the entry are written

    with monkeypatch.context() as m:
        m.setattr(alert_records, "insert_entries", fail_after_writing)
        with pytest.raises(RuntimeError):
            await stores.records.commit(change)
    assert await stores.alerts.get("a-1") is None
    assert await stores.audit.entries() == []
    assert (await verify_chain(stores.db)).rows == 0  # the rolled-back append left no link
    await stores.records.commit(change)
    assert await stores.alerts.get("a-1") is not None
    assert await stores.audit.entries() == [entry]
    assert (await verify_chain(stores.db)).ok


def test_entries_refuse_what_cannot_be_stored_faithfully() -> None:
    with pytest.raises(ValueError, match="timezone"):
        AuditEntry.by(LI, T0.replace(tzinfo=None), "comment", "alert", "a-1")
    with pytest.raises(ValueError, match="action longer"):
        AuditEntry.by(LI, T0, "x" * 33, "alert", "a-1")
    with pytest.raises(ValueError, match="not plain JSON"):
        AuditEntry.by(LI, T0, "comment", "alert", "a-1", {"at": T0}).content()
    with pytest.raises(ValueError, match="not plain JSON"):
        AuditEntry.by(LI, T0, "put", "patient", "p-1", after={"x": float("nan")}).content()


async def test_the_chain_links_each_row_to_the_one_before(stores: Stores) -> None:
    for i in range(5):
        await stores.audit.append(note(LI, i, text_=f"note {i}"))
    report = await verify_chain(stores.db, block=2)  # several blocks
    assert (report.ok, report.rows) == (True, 5)
    async with stores.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT prev_hash, hash FROM audit_log ORDER BY id"))).all()
    assert rows[0][0] == GENESIS
    assert [r[0] for r in rows[1:]] == [r[1] for r in rows[:-1]]
    assert report.head_hash == rows[-1][1]
    assert row_hash(GENESIS, note(LI, 0, text_="note 0").content()) == rows[0][1]


async def ids(stores: Stores) -> list[int]:
    async with stores.db.engine.connect() as conn:
        return list((await conn.scalars(text("SELECT id FROM audit_log ORDER BY id"))).all())


async def test_an_edited_row_is_named(stores: Stores) -> None:
    for i in range(4):
        await stores.audit.append(note(LI, i))
    second = (await ids(stores))[1]
    await sql(stores, f"""UPDATE audit_log SET detail = '{{"text": "y"}}' WHERE id = {second}""")
    report = await verify_chain(stores.db)
    assert (report.ok, report.broken_id, report.rows) == (False, second, 1)
    assert report.problem is not None
    assert "edited" in report.problem


async def test_an_edited_actor_is_named_even_with_its_hash_recomputed(stores: Stores) -> None:
    for i in range(3):
        await stores.audit.append(note(LI, i))
    first, second, _ = await ids(stores)
    forged = row_hash(GENESIS, {**note(LI, 0).content(), "actor": "admin"})
    await sql(stores, f"UPDATE audit_log SET actor = 'admin', hash = '{forged}' WHERE id = {first}")
    report = await verify_chain(stores.db)
    assert (report.ok, report.broken_id) == (False, second)  # the next row no longer links


async def test_a_deleted_row_is_named(stores: Stores) -> None:
    for i in range(4):
        await stores.audit.append(note(LI, i))
    first, second, third, _ = await ids(stores)
    await sql(stores, f"DELETE FROM audit_log WHERE id = {second}")
    report = await verify_chain(stores.db)
    assert (report.ok, report.broken_id) == (False, third)
    assert report.problem is not None
    assert f"row {first}" in report.problem


async def test_rows_cut_off_the_end_or_added_past_the_head_are_named(stores: Stores) -> None:
    for i in range(3):
        await stores.audit.append(note(LI, i))
    last = (await ids(stores))[-1]
    await sql(stores, f"DELETE FROM audit_log WHERE id = {last}")
    report = await verify_chain(stores.db)
    assert (report.ok, report.broken_id, report.rows) == (False, last, 2)
    assert report.problem is not None
    assert "deleted" in report.problem


async def test_a_row_past_the_chains_head_is_named(stores: Stores) -> None:
    await stores.audit.append(note(LI, 0))
    head = (await verify_chain(stores.db)).head_hash
    await stores.audit.append(note(ADMIN, 1))
    first, added = await ids(stores)
    # The head put back as it was before the second row: that row is outside the chain.
    await sql(stores, f"UPDATE audit_chain SET rows = 1, last_id = {first}, hash = '{head}'")
    report = await verify_chain(stores.db)
    assert (report.ok, report.rows, report.broken_id) == (False, 1, added)


async def test_concurrent_writers_queue_instead_of_forking(stores: Stores) -> None:
    async def one(i: int) -> None:
        await stores.audit.append(note(LI, i, f"a-{i}"))

    await asyncio.gather(*(one(i) for i in range(24)))
    report = await verify_chain(stores.db)
    assert (report.ok, report.rows) == (True, 24)


async def test_reads_are_recorded_in_groups_and_committed_before_returning(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = stores.audit
    batches: list[int] = []
    append_many = audit.append_many

    async def counted(entries: list[AuditEntry], **kw: object) -> None:
        batches.append(len(entries))
        await append_many(entries)

    monkeypatch.setattr(audit, "append_many", counted)
    await asyncio.gather(
        *(
            audit.record_read(AuditEntry.read(LI, T0, f"p-{i}", f"GET /history/p-{i}/readings"))
            for i in range(30)
        )
    )
    assert sum(batches) == 30
    assert len(batches) < 30  # reads that arrived during a write shared the next transaction
    reads = await audit.entries(actor="dr-li")
    assert {e.subject_id for e in reads} == {f"p-{i}" for i in range(30)}
    assert {(e.action, e.subject_type, e.tenant) for e in reads} == {("read", "patient", "t1")}
    assert reads[0].detail["resource"].startswith("GET /history/")
    assert (await verify_chain(stores.db)).rows == 30


async def test_a_failed_read_record_reaches_its_caller(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = stores.audit
    append_many = audit.append_many

    async def unavailable(entries: list[AuditEntry], **kw: object) -> None:
        raise ConnectionError("database unavailable")

    monkeypatch.setattr(audit, "append_many", unavailable)
    read = AuditEntry.read(LI, T0, "a-1", "GET /alerts/a-1", subject_type="alert")
    with pytest.raises(ConnectionError):
        await audit.record_read(read)
    monkeypatch.setattr(audit, "append_many", append_many)
    await audit.record_read(read)  # the recorder goes on
    assert await audit.entries() == [read]
    with pytest.raises(ValueError, match="takes reads"):
        await audit.record_read(note(LI, 0))


async def test_a_tenants_page_newest_first_with_filters(stores: Stores) -> None:
    for i in range(7):
        await stores.audit.append(note(LI, i, f"a-{i % 2}"))
    await stores.audit.append(note(OTHER, 8))
    await stores.audit.append(AuditEntry.read(LI, T0 + timedelta(minutes=9), "p-1", "GET /x"))
    first = await stores.audit.page("t1", limit=3)
    assert [r.entry.at for r in first] == [T0 + timedelta(minutes=m) for m in (9, 6, 5)]
    rest = await stores.audit.page("t1", before_id=first[-1].id, limit=100)
    assert [r.entry.at for r in rest] == [T0 + timedelta(minutes=m) for m in (4, 3, 2, 1, 0)]
    assert [r.entry.actor for r in await stores.audit.page("t2")] == ["dr-wu"]
    assert len(await stores.audit.page("t1", subject_id="a-1")) == 3
    assert len(await stores.audit.page("t1", action="read")) == 1
    assert len(await stores.audit.page("t1", subject_type="patient")) == 1
    assert len(await stores.audit.page("t1", actor="dr-wu")) == 0
    window = await stores.audit.page(
        "t1", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)
    )
    assert [r.entry.at for r in window] == [T0 + timedelta(minutes=3), T0 + timedelta(minutes=2)]


async def test_a_lost_head_is_reported_then_restarted_after_the_last_row(stores: Stores) -> None:
    for i in range(3):
        await stores.audit.append(note(LI, i))
    await sql(stores, "DELETE FROM audit_chain")
    report = await verify_chain(stores.db)
    assert (report.ok, report.rows, report.broken_id) == (False, 3, None)
    assert report.problem == "the chain head (audit_chain) is missing"
    await stores.audit.append(note(LI, 3))  # the next append chains on after the last row
    report = await verify_chain(stores.db)
    assert (report.ok, report.rows) == (True, 4)
