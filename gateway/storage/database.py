"""Engine and sessions for the relational store (SQLite by default, PostgreSQL in production).

`create_schema` brings the schema to the newest Alembic revision, inside one connection, so a
gateway start upgrades the database and the `alembic` CLI sees the same history:
- PostgreSQL (production): the migrations to `head`.
- SQLite (embedded): a new, empty file gets the models' tables at once (`create_all`, fast for
  demos and tests) stamped as `head`; an existing file is migrated to `head`. A file without an
  Alembic version (made by `create_all` before migrations ran on SQLite) is first stamped with
  the revision its tables show (`CREATE_ALL_ERA`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import gateway.storage.consult_rows  # noqa: F401  (its tables join the one metadata)
from gateway.storage.tables import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# SQLite files made by `create_all` before migrations ran on SQLite carry no Alembic version;
# `create_all` added every missing table at each start (and a new file got the columns of its
# day), so such a file stands at the newest of these revisions whose mark it has: a table, or a
# column of a table ("table.column").
CREATE_ALL_ERA = (
    ("8d4f1b6e2c93", "patients.sex"),
    ("5e2a9c7b3f40", "revoked_tokens"),
    ("3b9e6f2a7d10", "stream_progress"),
    ("7c1d5a0e4b21", "accounts"),
    ("218e2c41a319", "audit_log"),
)


def sqlite_pragmas(dbapi_conn: Any, _record: Any = None) -> None:
    """The settings of every SQLite connection of the gateway (the pool's and the readings
    writer's, `gateway.storage.sqlite_batch.SqliteWriter`)."""
    cur = dbapi_conn.cursor()
    # WAL lets the API read while ingest writes; synchronous=FULL makes a commit durable across
    # power loss, which is what "acknowledged only after it is stored" promises.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def all_metadata() -> MetaData:
    """The whole relational schema (every table is declared in `gateway.storage.tables`,
    `gateway.storage.access_tables` and `gateway.storage.record_tables`)."""
    import gateway.storage.access_tables
    import gateway.storage.record_tables  # noqa: F401 - declare their tables on Base

    return Base.metadata


def alembic_config(url: str | None = None) -> Any:
    """An Alembic `Config` for the packaged migrations (works from a wheel install too)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_head(connection: Connection) -> None:
    """Run the migrations to `head` on an open (sync) connection."""
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _has(connection: Connection, tables: set[str], mark: str) -> bool:
    table, _, column = mark.partition(".")
    if table not in tables:
        return False
    return not column or column in {c["name"] for c in inspect(connection).get_columns(table)}


@cache
def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def stamp(connection: Connection, revision: str) -> None:
    """Record `revision` as the schema's version without running migrations."""
    from alembic.migration import MigrationContext

    MigrationContext.configure(connection).stamp(_scripts(), revision)


def sqlite_schema(connection: Connection) -> None:
    """The SQLite side of `Database.create_schema` (see the module doc)."""
    tables = set(inspect(connection).get_table_names())
    if not tables:
        all_metadata().create_all(connection)
        stamp(connection, "head")
        return
    if "alembic_version" not in tables:
        found = next((rev for rev, mark in CREATE_ALL_ERA if _has(connection, tables, mark)), None)
        if found is None:
            raise RuntimeError(f"{sorted(tables)[:5]}...: not a database of this gateway")
        stamp(connection, found)
    from alembic.migration import MigrationContext

    current = set(MigrationContext.configure(connection).get_current_heads())
    if current != set(_scripts().get_heads()):
        upgrade_head(connection)


class Transaction:
    """One open database transaction that several stores write into, committed as a whole.

    Opaque outside `gateway.storage`: callers pass it on to store methods (`tx=`) and never
    touch the session inside.
    """

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class Database:
    """Owns the async engine; `create_schema` brings the schema up to date (see module doc)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # The database file (None: not SQLite, or SQLite in memory, seen by one connection only).
        self.sqlite_file: str | None = None
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self.sqlite_file = parsed.database
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            if self.is_sqlite:
                await conn.run_sync(sqlite_schema)
            else:
                await conn.run_sync(upgrade_head)

    def session(self) -> AsyncSession:
        return self.sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A transaction for several stores' writes: committed when the block ends, rolled
        back (nothing written) when it raises."""
        async with self.sessions() as s, s.begin():
            yield Transaction(s)

    @asynccontextmanager
    async def writing(self, tx: Transaction | None) -> AsyncIterator[AsyncSession]:
        """The session a store writes with: the caller's transaction if given (the caller
        commits), else a transaction of its own, committed when the block ends."""
        if tx is not None:
            yield tx.session
            return
        async with self.sessions() as s, s.begin():
            yield s

    async def dispose(self) -> None:
        await self.engine.dispose()
