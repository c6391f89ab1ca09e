"""Bearer tokens for tests: minted by the app's own embedded issuer, for any role and tenant.

    headers = auth_headers(app, Role.CLINICIAN, tenant="t1", user="dr.wang")
    await client.get("/alerts", headers=headers)

The tokens go through the same verification as a real login (signature, issuer, audience, expiry),
so a test that uses them exercises the guard, not a bypass.
"""

from __future__ import annotations

from fastapi import FastAPI

from gateway.actor import Role
from gateway.auth.authority import Authority


def token_for(
    app: FastAPI,
    role: Role = Role.CLINICIAN,
    tenant: str = "t1",
    user: str | None = None,
    *,
    client_id: str = "tests",
    ttl_s: int | None = None,
) -> str:
    auth: Authority = app.state.auth
    if auth.issuer is None:
        raise RuntimeError("the app has no embedded issuer (HMG_AUTH_EMBEDDED=false)")
    name = user or f"{role.value}.{tenant}"
    return auth.issuer.mint(name, role, tenant, client_id, name, ttl_s=ttl_s)


def auth_headers(
    app: FastAPI,
    role: Role = Role.CLINICIAN,
    tenant: str = "t1",
    user: str | None = None,
    *,
    client_id: str = "tests",
    ttl_s: int | None = None,
) -> dict[str, str]:
    token = token_for(app, role, tenant, user, client_id=client_id, ttl_s=ttl_s)
    return {"Authorization": f"Bearer {token}"}
