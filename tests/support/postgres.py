"""PostgreSQL for the test suite: the machine's server, a throwaway database per test session.

The server is the one installed on the machine (trust auth on 127.0.0.1). When nothing listens on
its port we try to start the Debian cluster once; if that fails the fixture fails with a message
(PostgreSQL coverage is part of `make test`, it is never skipped).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from gateway.storage.database import Database, all_metadata
from tests.support.servers import wait_port

PG_HOST = os.environ.get("HMG_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HMG_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("HMG_TEST_PG_USER", "postgres")


def _reachable() -> bool:
    try:
        wait_port(PG_PORT, timeout=0.5, host=PG_HOST)
    except TimeoutError:
        return False
    return True


def ensure_postgres() -> None:
    """Make sure a PostgreSQL server answers, starting the local Debian cluster if needed."""
    if _reachable():
        return
    versions = (
        sorted(p.name for p in Path("/etc/postgresql").glob("*"))
        if Path("/etc/postgresql").is_dir()
        else []
    )
    detail = "no cluster under /etc/postgresql"
    if versions:
        cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        detail = f"{' '.join(cmd)} -> exit {proc.returncode}: {proc.stderr.strip()}"
        try:
            wait_port(PG_PORT, timeout=20.0, host=PG_HOST)
        except TimeoutError:
            pass
        else:
            return
    raise RuntimeError(
        f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} and could not be started ({detail}); "
        "the storage tests need it (see docs/storage.md)"
    )


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(prefix: str = "hmg_test") -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    _in_thread(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(name: str) -> None:
    _in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def url_for(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@contextmanager
def throwaway_database(prefix: str = "hmg_test") -> Iterator[str]:
    """Create an empty database and yield its SQLAlchemy URL; drop it afterwards."""
    ensure_postgres()
    name = create_database(prefix)
    try:
        yield url_for(name)
    finally:
        drop_database(name)


def _in_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion on its own loop, whatever loop the caller is in."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await db.create_schema()
    finally:
        await db.dispose()


async def _truncate(url: str) -> None:
    # DELETE is much faster than TRUNCATE on small tables (no new relation files).
    deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(all_metadata().sorted_tables))
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
    try:
        await conn.execute(deletes)
    finally:
        await conn.close()


def migrate(url: str) -> None:
    """Bring a database to the current schema the way the gateway does (Alembic `head`)."""
    _in_thread(_migrate(url))


def truncate_all(url: str) -> None:
    """Empty every table of the schema (cheaper than a new database per test)."""
    _in_thread(_truncate(url))


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on the test database, from synchronous test code."""
    out: list[tuple[Any, ...]] = []

    async def run() -> None:
        name = url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
        try:
            out.extend(tuple(r) for r in await conn.fetch(sql))
        finally:
            await conn.close()

    _in_thread(run())
    return out
