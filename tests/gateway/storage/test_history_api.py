"""History endpoints on the SQL readings store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.gateway.storage.history_cases import check_history_api


async def test_history_api_on_sql(db_url: str, tmp_path: Path) -> None:
    gw = Gateway(
        Settings(mode="test", data_dir=tmp_path, database_url=db_url, retention_interval_s=0)
    )
    await gw.start(mqtt=False)
    try:
        await check_history_api(gw)
    finally:
        await gw.stop()
