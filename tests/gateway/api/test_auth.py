"""The token endpoint, the key set and `/auth/me` through the ASGI app, with real accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from devices.model import utcnow
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.auth.model import Account, AccountKind
from gateway.auth.passwords import hash_secret
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.accounts import AccountStore
from tests.support.api import client

PASSWORD = "correct horse battery"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path, auth_login_failures=3))
    await gw.start(mqtt=False)
    store = AccountStore(gw.db)
    now = utcnow()
    for name, kind, role, tenant in (
        ("dr.wang", AccountKind.USER, Role.CLINICIAN, "t1"),
        ("dr.off", AccountKind.USER, Role.CLINICIAN, "t1"),
        ("carelink", AccountKind.CLIENT, Role.CLINICIAN, "t2"),
    ):
        await store.add(
            Account(name, kind, role, tenant, f"{name} display", hash_secret(PASSWORD)), now
        )
    await store.update("dr.off", now, disabled=True)
    try:
        yield create_app(gateway=gw)
    finally:
        await gw.stop()


async def test_password_grant_then_me(app: FastAPI) -> None:
    async with client(app) as c:
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.wang", "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        assert r.headers["cache-control"] == "no-store"
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json() == {
            "user": "dr.wang",
            "role": "clinician",
            "tenant": "t1",
            "display_name": "dr.wang display",
        }
        # The refresh grant gives a new access token; the refresh token is no access token.
        r2 = await c.post(
            "/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
        assert r2.status_code == 200
        bad = await c.get("/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"})
        assert bad.status_code == 401


async def test_client_credentials_by_form_and_basic(app: FastAPI) -> None:
    async with client(app) as c:
        r = await c.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "carelink",
                "client_secret": PASSWORD,
            },
        )
        assert r.status_code == 200
        assert "refresh_token" not in r.json()
        r = await c.post(
            "/auth/token", data={"grant_type": "client_credentials"}, auth=("carelink", PASSWORD)
        )
        token = r.json()["access_token"]
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["tenant"] == "t2"
        # A client secret does not work as a person's password grant, nor the other way round.
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "carelink", "password": PASSWORD},
        )
        assert r.status_code == 400
        r = await c.post(
            "/auth/token", data={"grant_type": "client_credentials"}, auth=("dr.wang", PASSWORD)
        )
        assert r.status_code == 401
        assert r.json() == {"error": "invalid_client"}


async def test_refused_logins_are_audited_and_rate_limited(app: FastAPI) -> None:
    async with client(app) as c:
        for pw in ("wrong-1", "wrong-2", "wrong-3"):
            r = await c.post(
                "/auth/token",
                data={"grant_type": "password", "username": "dr.wang", "password": pw},
            )
            assert r.json() == {"error": "invalid_grant"}
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.wang", "password": PASSWORD},
        )
        assert r.status_code == 429  # even the right password, until the window passes
        assert int(r.headers["retry-after"]) > 0
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.off", "password": PASSWORD},
        )
        assert r.json() == {"error": "invalid_grant"}  # disabled
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "nobody", "password": PASSWORD},
        )
        assert r.json() == {"error": "invalid_grant"}  # same answer: no account enumeration
        r = await c.post("/auth/token", data={"grant_type": "implicit"})
        assert r.json() == {"error": "unsupported_grant_type"}
    gw: Gateway = app.state.gateway
    rows = await gw.stores.audit.entries()
    actions = [(row.action, row.subject_id) for row in rows]
    assert actions.count(("login_failed", "dr.wang")) == 3
    assert ("login_refused", "dr.wang") in actions
    assert ("login_failed", "dr.off") in actions
    assert ("login_failed", "nobody") in actions
    assert all(PASSWORD not in str(row.detail) for row in rows)


async def test_key_set_and_openapi_password_flow(app: FastAPI) -> None:
    async with client(app) as c:
        jwks = (await c.get("/.well-known/jwks.json")).json()
        assert [k["alg"] for k in jwks["keys"]] == ["ES256"]
        assert "d" not in jwks["keys"][0]  # public part only
        spec = (await c.get("/openapi.json")).json()
        flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
        assert flows["password"]["tokenUrl"] == "/auth/token"
        assert (await c.get("/auth/me")).status_code == 401
        r = await c.get("/auth/me", headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_sign_out_revokes_the_access_and_refresh_tokens(app: FastAPI) -> None:
    async with client(app) as c:
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.wang", "password": PASSWORD},
        )
        body = r.json()
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await c.get("/queue", headers=bearer)).status_code == 200
        out = await c.post(
            "/auth/logout", data={"refresh_token": body["refresh_token"]}, headers=bearer
        )
        assert out.status_code == 204
        for method, path in (("GET", "/queue"), ("GET", "/auth/me"), ("GET", "/alerts")):
            assert (await c.request(method, path, headers=bearer)).status_code == 401, path
        again = await c.post(
            "/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
        assert again.status_code == 400
        assert (await c.post("/auth/logout")).status_code == 401


async def test_a_refresh_token_works_once(app: FastAPI) -> None:
    async with client(app) as c:
        r = await c.post(
            "/auth/token",
            data={"grant_type": "password", "username": "dr.wang", "password": PASSWORD},
        )
        first = r.json()["refresh_token"]
        grant = {"grant_type": "refresh_token", "refresh_token": first}
        renewed = await c.post("/auth/token", data=grant)
        assert renewed.status_code == 200
        assert (await c.post("/auth/token", data=grant)).status_code == 400  # used up
        second = {"grant_type": "refresh_token", "refresh_token": renewed.json()["refresh_token"]}
        assert (await c.post("/auth/token", data=second)).status_code == 200
