"""`hmg audit verify [--db URL]`: check the audit trail's hash chain (`gateway.storage.auditchain`).

Reads only: the database is neither created nor migrated. Prints `OK` with the number of rows and
the chain's head hash (keep it somewhere else: a later check that prints another head for the
same rows means the chain was rewritten), or the first broken row and what is wrong with it.
Exit status: 0 intact, 1 broken, 2 the database could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("audit", help="audit trail: verify its hash chain")
    asub = a.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="walk the chain; report the first broken row")
    v.add_argument(
        "--db",
        default=None,
        help="database URL (default: HMG_DATABASE_URL, else the SQLite file in HMG_DATA_DIR)",
    )
    v.set_defaults(func=_cmd_audit)


def _cmd_audit(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from gateway.runtime.settings import Settings

    url: str = args.db or Settings().storage.db_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        print(f"hmg audit: no database file {parsed.database!r}", file=sys.stderr)
        return 2
    return asyncio.run(_verify(url))


async def _verify(url: str) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.storage.auditchain import verify_chain
    from gateway.storage.database import Database

    db = Database(url)
    try:
        report = await verify_chain(db)
    except (SQLAlchemyError, OSError) as exc:
        print(f"hmg audit: cannot read the audit trail: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    if report.ok:
        print(f"OK: {report.rows} rows, head {report.head_hash}")
        return 0
    where = f"row {report.broken_id}" if report.broken_id is not None else "the chain's end"
    print(f"BROKEN at {where}: {report.problem} ({report.rows} rows intact before it)")
    return 1
