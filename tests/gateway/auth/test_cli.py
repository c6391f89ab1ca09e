"""`hmg users`: accounts created, listed without hashes, password changed, disabled; audited."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from gateway.auth.passwords import check_secret
from gateway.cli import main
from gateway.runtime.settings import Settings
from gateway.storage import Database
from gateway.storage.accounts import AccountStore
from gateway.storage.audit import AuditStore


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str
) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["users", *argv])
    return code, capsys.readouterr().out


async def _state(url: str) -> tuple[str, bool, list[str]]:
    db = Database(url)
    try:
        a = await AccountStore(db).get("dr.wang")
        assert a is not None
        audit = [r.action for r in await AuditStore(db).entries(subject_id="dr.wang")]
        return a.secret_hash, a.disabled, audit
    finally:
        await db.dispose()


def test_users_add_list_passwd_disable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMG_MODE", "test")
    monkeypatch.setenv("HMG_DATA_DIR", str(tmp_path))
    url = Settings().storage.db_url
    code, _ = run(
        capsys, monkeypatch, "short\n", "add", "dr.wang", "--role", "clinician", "--tenant", "t1"
    )
    assert code == 2  # too short a password
    code, out = run(
        capsys,
        monkeypatch,
        "a long enough secret\n",
        "add",
        "dr.wang",
        "--role",
        "clinician",
        "--tenant",
        "t1",
        "--display-name",
        "Dr Wang",
    )
    assert code == 0
    assert json.loads(out)["role"] == "clinician"
    code, out = run(
        capsys,
        monkeypatch,
        "",
        "add",
        "carelink",
        "--client",
        "--role",
        "clinician",
        "--tenant",
        "t1",
        "--generate",
    )
    secret = json.loads(out)["secret"]
    assert len(secret) >= 12
    code, out = run(capsys, monkeypatch, "", "list")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["name"], r["kind"]) for r in rows] == [("carelink", "client"), ("dr.wang", "user")]
    assert all("secret_hash" not in r and "secret" not in r for r in rows)
    hashed, disabled, _ = asyncio.run(_state(url))
    assert hashed.startswith("$argon2id$")
    assert check_secret("a long enough secret", hashed)
    code, _ = run(capsys, monkeypatch, "another long secret\n", "passwd", "dr.wang")
    assert code == 0
    code, _ = run(capsys, monkeypatch, "", "disable", "dr.wang")
    hashed, disabled, audit = asyncio.run(_state(url))
    assert check_secret("another long secret", hashed)
    assert disabled
    assert audit == ["account_added", "account_secret_changed", "account_disabled"]
    code, _ = run(capsys, monkeypatch, "", "disable", "nobody")
    assert code == 1
