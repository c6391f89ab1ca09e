"""`hmg audit verify` on SQLite and PostgreSQL: an untouched trail passes with its row count; a
row edited with SQL in the database, or deleted, fails naming that row (exit 1)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.actor import Actor, Role
from gateway.cli import main
from gateway.storage import AuditEntry, Database
from gateway.storage.audit import AuditStore

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LI = Actor("dr-li", Role.CLINICIAN, "t1", "tablet")


async def _fill(url: str, n: int) -> list[int]:
    db = Database(url)
    try:
        await db.create_schema()
        store = AuditStore(db)
        for i in range(n):
            at = T0 + timedelta(minutes=i)
            await store.append(AuditEntry.by(LI, at, "comment", "alert", "a-1", {"text": f"{i}"}))
        async with db.engine.connect() as conn:
            return list((await conn.scalars(text("SELECT id FROM audit_log ORDER BY id"))).all())
    finally:
        await db.dispose()


async def _sql(url: str, statement: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await db.dispose()


def verify(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", url])
    return code, capsys.readouterr().out.strip()


def test_verify_passes_then_names_the_edited_then_the_deleted_row(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = asyncio.run(_fill(db_url, 6))
    code, out = verify(capsys, db_url)
    assert (code, out.split(",")[0]) == (0, "OK: 6 rows")

    edited = ids[2]
    asyncio.run(
        _sql(db_url, f"""UPDATE audit_log SET detail = '{{"text": "9"}}' WHERE id = {edited}""")
    )
    code, out = verify(capsys, db_url)
    assert code == 1
    assert out.startswith(f"BROKEN at row {edited}: the row's content does not match its hash")

    asyncio.run(
        _sql(db_url, f"""UPDATE audit_log SET detail = '{{"text": "2"}}' WHERE id = {edited}""")
    )
    assert verify(capsys, db_url)[0] == 0  # put back exactly: intact again

    asyncio.run(_sql(db_url, f"DELETE FROM audit_log WHERE id = {ids[4]}"))
    code, out = verify(capsys, db_url)
    assert code == 1
    assert out.startswith(
        f"BROKEN at row {ids[5]}: prev_hash does not match the hash of row {ids[3]}"
    )


def test_an_empty_trail_passes_and_a_missing_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hmg.db'}"
    asyncio.run(_fill(url, 0))
    assert verify(capsys, url) == (0, f"OK: 0 rows, head {'0' * 64}")
    missing = tmp_path / "nowhere.db"
    assert main(["audit", "verify", "--db", f"sqlite+aiosqlite:///{missing}"]) == 2
    assert "no database file" in capsys.readouterr().err
    assert not missing.exists()  # a check never creates a database


def test_audit_is_listed_without_importing_the_storage() -> None:
    code = (
        "import sys; from gateway.cli import build_parser; build_parser(None); "
        "print('gateway.storage' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    helped = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "audit" in helped.stdout
