"""Alembic: `upgrade head` on an empty PostgreSQL (and SQLite) gives exactly the schema of the
models; a database made before the audit hash chain is migrated with its rows chained; one made
before patients were keyed by (tenant, patient id) keeps every row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from devices.model import PatientKey
from gateway.actor import Actor, Role
from gateway.storage import Patient, SqlReadingStore, Stores
from gateway.storage.audit import AuditEntry, AuditStore
from gateway.storage.auditchain import ChainReport, verify_chain
from gateway.storage.database import Database, alembic_config, all_metadata
from gateway.storage.tables import UTCDateTime
from tests.gateway.storage.helpers import T0
from tests.support.postgres import throwaway_database

pytestmark = pytest.mark.integration


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, all_metadata()))


async def test_upgrade_head_matches_models() -> None:
    with throwaway_database("hmg_migr") as url:
        db = Database(url)
        try:
            await db.create_schema()  # Alembic upgrade head on PostgreSQL
            await db.create_schema()  # idempotent on restart
            async with db.engine.connect() as conn:
                diff = await conn.run_sync(_diff)
        finally:
            await db.dispose()
    assert diff == [], f"migrations are stale, run `alembic revision --autogenerate`: {diff}"


BEFORE_CHAIN = "8d4f1b6e2c93"
LEGACY_AUDIT = sa.table(
    "audit_log",
    sa.column("at", UTCDateTime()),
    *(
        sa.column(c, sa.String())
        for c in ("actor", "client", "action", "subject_type", "subject_id")
    ),
    sa.column("detail", sa.JSON()),
)


def _at(revision: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return run


async def _legacy(url: str, revision: str, *, stamped: bool) -> None:
    """A database at `revision` (before the hash chain) with three audit rows; `stamped=False`
    drops its Alembic version, as SQLite files made by `create_all` had none."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_at(revision))
            await conn.execute(
                LEGACY_AUDIT.insert(),
                [
                    {"at": T0 + timedelta(minutes=i), "actor": "admin", "client": "cli",
                     "action": "put", "subject_type": "member", "subject_id": f"m-{i}",
                     "detail": {"value": {"name": f"Member {i}", "n": i}}}
                    for i in range(3)
                ],
            )  # fmt: skip
            if not stamped:
                await conn.execute(sa.text("DROP TABLE alembic_version"))
    finally:
        await db.dispose()


async def _migrated_chain(url: str) -> list[ChainReport]:
    """Migrate to head the way the gateway starts, then: the chain as migrated; after a new
    append; after a migrated row is edited."""
    db = Database(url)
    try:
        await db.create_schema()
        reports = [await verify_chain(db)]
        actor = Actor("admin", Role.ADMIN, "t1")
        await AuditStore(db).append(AuditEntry.by(actor, T0, "delete", "member", "m-0"))
        reports.append(await verify_chain(db))
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("UPDATE audit_log SET subject_id = 'm-9' WHERE id = 2"))
        reports.append(await verify_chain(db))
    finally:
        await db.dispose()
    return reports


def _check(reports: list[ChainReport]) -> None:
    migrated, appended, edited = reports
    assert (migrated.ok, migrated.rows) == (True, 3)
    assert (appended.ok, appended.rows) == (True, 4)
    assert (edited.ok, edited.broken_id) == (False, 2)


async def test_postgresql_migration_chains_existing_audit_rows() -> None:
    with throwaway_database("hmg_migr") as url:
        await _legacy(url, BEFORE_CHAIN, stamped=True)
        _check(await _migrated_chain(url))


@pytest.mark.parametrize(
    ("revision", "stamped"),
    [(BEFORE_CHAIN, True), (BEFORE_CHAIN, False), ("5e2a9c7b3f40", False), ("3b9e6f2a7d10", False)],
)
async def test_sqlite_file_migrated_at_start_with_existing_audit_rows(
    tmp_path: Path, revision: str, stamped: bool
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await _legacy(url, revision, stamped=stamped)
    _check(await _migrated_chain(url))


async def test_sqlite_schema_new_or_migrated_is_the_models_schema(tmp_path: Path) -> None:
    fresh = Database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    migrated = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await fresh.create_schema()  # create_all, stamped head
        await fresh.create_schema()  # nothing to do on restart
        async with migrated.engine.begin() as conn:
            await conn.run_sync(_at("head"))
        for db in (fresh, migrated):
            async with db.engine.connect() as conn:
                assert await conn.run_sync(_diff) == []
                heads = await conn.scalars(sa.text("SELECT version_num FROM alembic_version"))
                assert list(heads) == [
                    ScriptDirectory.from_config(alembic_config()).get_current_head()
                ]
    finally:
        await fresh.dispose()
        await migrated.dispose()


BEFORE_PATIENT_KEY = "b8e3a5c1d7f9"


def _t(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(name, *columns)


_S, _AT, _B, _J = sa.String(), UTCDateTime(), sa.Boolean(), sa.JSON()
LEGACY = {
    "patients": _t(
        "patients", sa.column("patient_id", _S), sa.column("tenant", _S), sa.column("name", _S),
        sa.column("lives_alone", _B), sa.column("disability", _B), sa.column("targets", _J),
        sa.column("created_at", _AT),
    ),
    "devices": _t(
        "devices", sa.column("device_id", _S), sa.column("tenant", _S), sa.column("kind", _S),
        sa.column("kiosk", _B), sa.column("created_at", _AT),
    ),
    "device_bindings": _t(
        "device_bindings", sa.column("device_id", _S), sa.column("patient_id", _S),
        sa.column("since", _AT),
    ),
    "emergency_contacts": _t(
        "emergency_contacts", sa.column("patient_id", _S), sa.column("tenant", _S),
        sa.column("name", _S), sa.column("lang", _S), sa.column("contacts", _J),
        sa.column("rank", sa.Integer()),
    ),
    "readings": _t(
        "readings", sa.column("tenant", _S), sa.column("patient_id", _S),
        sa.column("device_id", _S), sa.column("kind", _S), sa.column("seq", sa.BigInteger()),
        sa.column("ts", _AT), sa.column("received_at", _AT), sa.column("values", _J),
        sa.column("attrs", _J), sa.column("flags", _S),
    ),
}  # fmt: skip


async def _before_patient_key(url: str) -> None:
    """A database at the revision before the patient key, holding two tenants' patients,
    devices, bindings (one, of tenant t2's cuff, to an id only t1 had a row for), an emergency
    contact and readings."""
    db = Database(url)
    no = {"lives_alone": False, "disability": False, "targets": {}, "created_at": T0}
    dev = {"kind": "bp", "kiosk": False, "created_at": T0}
    rows: dict[str, list[dict[str, Any]]] = {
        "patients": [
            {"patient_id": "p-001", "tenant": "t1", "name": "Wang", **no},
            {"patient_id": "p-002", "tenant": "t1", "name": "Zhao", **no},
        ],
        "devices": [
            {"device_id": "cuff-1", "tenant": "t1", **dev},
            {"device_id": "cuff-2", "tenant": "t2", **dev},
        ],
        "device_bindings": [
            {"device_id": "cuff-1", "patient_id": "p-001", "since": T0},
            {"device_id": "cuff-2", "patient_id": "p-001", "since": T0},
        ],
        "emergency_contacts": [
            {"patient_id": "p-002", "tenant": "t1", "name": "Son", "lang": "en",
             "contacts": [], "rank": 0},
        ],
        "readings": [
            {"tenant": t, "patient_id": "p-001", "device_id": d, "kind": "bp", "seq": i,
             "ts": T0 + timedelta(minutes=i), "received_at": T0 + timedelta(minutes=i),
             "values": {"systolic": 120.0 + i, "diastolic": 80.0}, "attrs": {}, "flags": ""}
            for i, (t, d) in enumerate([("t1", "cuff-1"), ("t2", "cuff-2"), ("t1", "cuff-1")])
        ],
    }  # fmt: skip
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_at(BEFORE_PATIENT_KEY))
            for name, table in LEGACY.items():
                await conn.execute(table.insert(), rows[name])
    finally:
        await db.dispose()


async def _after_patient_key(url: str) -> dict[str, Any]:
    """Start on the old database as the gateway does, then read what the stores see."""
    db = Database(url)
    try:
        await db.create_schema()
        stores = Stores.of(db)
        await stores.patients.save_patient(Patient("p-002", "t2", T0, name="Sun"))
        readings = SqlReadingStore(db)
        span = (T0, T0 + timedelta(hours=1))
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        return {
            "diff": diff,
            "patients": [
                (p.tenant, p.patient_id, p.name) for p in await stores.patients.patients()
            ],
            "devices": sorted(
                (d.device_id, d.tenant, tuple(b.patient_id for b in d.bindings))
                for d in await stores.patients.devices()
            ),
            "contacts": (await stores.rosters.roster("t1")).emergency_contacts["p-002"][0].name,
            "readings": {
                k.tenant: [r.seq for r in await readings.query(k, None, *span)]
                for k in (PatientKey("t1", "p-001"), PatientKey("t2", "p-001"))
            },
        }
    finally:
        await db.dispose()


def _check_patient_key(after: dict[str, Any]) -> None:
    assert after["diff"] == []
    assert after["patients"] == [
        ("t1", "p-001", "Wang"),
        ("t2", "p-001", None),  # a bare row for the binding of t2's cuff
        ("t1", "p-002", "Zhao"),
        ("t2", "p-002", "Sun"),  # an id t1 holds is free for t2 now
    ]
    assert after["devices"] == [("cuff-1", "t1", ("p-001",)), ("cuff-2", "t2", ("p-001",))]
    assert after["contacts"] == "Son"
    assert after["readings"] == {"t1": [0, 2], "t2": [1]}


async def test_sqlite_file_migrated_to_patient_key_with_every_row(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await _before_patient_key(url)
    _check_patient_key(await _after_patient_key(url))


async def test_postgresql_migrated_to_patient_key_with_every_row() -> None:
    with throwaway_database("hmg_migr") as url:
        await _before_patient_key(url)
        _check_patient_key(await _after_patient_key(url))
