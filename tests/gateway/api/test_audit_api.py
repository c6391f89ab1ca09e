"""`GET /audit` through the ASGI app with real tokens: auditors only, the caller's tenant only,
newest first, cursor pages that add up to the whole trail, filters; bounded input; a refused
sign-in recorded under the account's tenant; and the read-recording helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.actor import Actor, Role
from gateway.api.app import create_app
from gateway.api.audit import MAX_LIMIT, decode_cursor, encode_cursor
from gateway.auth.model import Account, AccountKind
from gateway.auth.passwords import hash_secret
from gateway.errors import InvalidError
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import AuditEntry, Patient
from gateway.storage.accounts import AccountStore
from gateway.storage.auditchain import verify_chain
from tests.support.api import client
from tests.support.auth import auth_headers

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LI = Actor("dr-li", Role.CLINICIAN, "t1", "tablet@10.0.0.7")
ZHOU = Actor("admin.zhou", Role.ADMIN, "t1", "console@10.0.0.2")
WU = Actor("dr-wu", Role.CLINICIAN, "t2", "tablet@10.0.0.9")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path))
    await gw.start(mqtt=False)
    audit = gw.stores.audit
    for i in range(11):
        at = T0 + timedelta(minutes=i)
        await audit.append(AuditEntry.by(LI, at, "comment", "alert", f"a-{i % 3}", {"text": "x"}))
    await audit.append(
        AuditEntry.by(
            ZHOU, T0 + timedelta(minutes=20), "set_targets", "patient", "p-1",
            before={"target_systolic": 160.0}, after={"target_systolic": 150.0},
        )
    )  # fmt: skip
    await audit.append(AuditEntry.read(LI, T0 + timedelta(minutes=21), "p-1", "GET /x"))
    for i in range(3):
        await audit.append(AuditEntry.by(WU, T0 + timedelta(minutes=i), "comment", "alert", "b"))
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def get(
    app: FastAPI, role: Role = Role.AUDITOR, tenant: str = "t1", **params: Any
) -> httpx.Response:
    async with client(app) as c:
        return await c.get("/audit", params=params, headers=auth_headers(app, role, tenant))


async def test_only_auditors_read_the_trail(app: FastAPI) -> None:
    async with client(app) as c:
        assert (await c.get("/audit")).status_code == 401
    for role in (Role.CLINICIAN, Role.ADMIN, Role.OPERATOR):
        assert (await get(app, role)).status_code == 403
    assert (await get(app)).status_code == 200


async def test_pages_newest_first_add_up_to_the_tenants_trail(app: FastAPI) -> None:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = (await get(app, **params)).json()
        seen += body["entries"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4  # 13 entries of t1 in pages of 4
    assert len(seen) == 13
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True)
    assert {e["tenant"] for e in seen} == {"t1"}  # t2's entries never appear
    newest, change = seen[0], seen[1]
    assert (newest["action"], newest["subject_id"], newest["detail"]) == (
        "read", "p-1", {"resource": "GET /x"},
    )  # fmt: skip
    assert (change["by"], change["role"], change["client"]) == (
        "admin.zhou", "admin", "console@10.0.0.2",
    )  # fmt: skip
    assert (change["before"], change["after"]) == (
        {"target_systolic": 160.0}, {"target_systolic": 150.0},
    )  # fmt: skip
    assert len(change["hash"]) == 64
    other = (await get(app, tenant="t2")).json()
    assert [e["by"] for e in other["entries"]] == ["dr-wu"] * 3


async def test_filters(app: FastAPI) -> None:
    async def count(**params: Any) -> int:
        r = await get(app, **params)
        assert r.status_code == 200, r.text
        return len(r.json()["entries"])

    assert await count(actor="admin.zhou") == 1
    assert await count(subject_id="a-0") == 4
    assert await count(subject_type="alert") == 11
    assert await count(action="read") == 1
    assert await count(actor="dr-wu") == 0  # another tenant's actor
    assert await count(since="2026-11-22T08:05:00Z", until="2026-11-22T08:07:00Z") == 2
    assert await count(since="2026-11-22T08:05:00Z", action="comment", subject_id="a-2") == 2


async def test_bounded_and_checked_input(app: FastAPI) -> None:
    assert (await get(app, limit=MAX_LIMIT)).status_code == 200
    assert (await get(app, limit=MAX_LIMIT + 1)).status_code == 422
    assert (await get(app, limit=0)).status_code == 422
    r = await get(app, cursor="not-a-cursor")
    assert (r.status_code, r.json()["fields"]) == (422, ["cursor"])
    assert (await get(app, since="2026-11-22T08:05:00")).status_code == 422  # no offset


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    for bad in ("", "42", encode_cursor(0), "YXVkaXQ6eA", "%%%"):
        with pytest.raises(InvalidError):
            decode_cursor(bad)


async def test_a_refused_sign_in_is_audited_under_the_accounts_tenant(app: FastAPI) -> None:
    gw: Gateway = app.state.gateway
    account = Account("dr.wang", AccountKind.USER, Role.CLINICIAN, "t1", "Dr Wang",
                      hash_secret("correct horse battery"))  # fmt: skip
    await AccountStore(gw.db).add(account, T0)
    async with client(app) as c:
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.wang", "password": "wrong"},
        )
        assert r.status_code == 400
    (entry,) = (await get(app, action="login_failed")).json()["entries"]
    assert (entry["by"], entry["role"], entry["tenant"]) == ("dr.wang", "clinician", "t1")


async def test_a_health_data_read_is_audited_and_committed_first(app: FastAPI) -> None:
    gw: Gateway = app.state.gateway
    await gw.stores.patients.save_patient(Patient("p-7", "t1", datetime.now(UTC)))
    query = "kind=bp&start=2026-11-22T00:00:00Z"
    async with client(app) as c:
        r = await c.get(
            f"/history/p-7/readings?{query}", headers=auth_headers(app, user="dr-li", tenant="t1")
        )
    assert r.status_code == 200, r.text
    (read,) = (await get(app, subject_id="p-7")).json()["entries"]
    assert (read["action"], read["by"], read["tenant"], read["subject_type"]) == (
        "read", "dr-li", "t1", "patient",
    )  # fmt: skip
    assert read["detail"] == {
        "resource": f"GET /history/p-7/readings?{query}",
        "route": "GET /history/{patient_id}/readings",
    }
    report = await verify_chain(gw.db)
    assert (report.ok, report.rows) == (True, 17)
