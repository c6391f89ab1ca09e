"""FastAPI dependencies as `Annotated` aliases: the gateway, and who acts (`CurrentActor`)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request

from gateway.actor import Actor, Role
from gateway.service import Gateway

# Tenant recorded for actors named by header (the action's subject decides the scope).
UNSCOPED_TENANT = "*"
# The user recorded when a caller names nobody.
ANONYMOUS = "anonymous"


def get_gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def header_actor(request: Request) -> Actor:
    """The acting user as the caller names it: `X-HMG-User`, else `by` in the JSON body or
    the query, else `anonymous`; the client is `X-HMG-Client`, else the User-Agent and peer
    address. Unverified: the token's identity (`gateway.api.security.CurrentActor`) takes its
    place when the routes are guarded."""
    user = request.headers.get("X-HMG-User") or request.query_params.get("by")
    if not user and request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("by"), str):
            user = body["by"]
    user = user or ANONYMOUS
    client = request.headers.get("X-HMG-Client")
    if not client:
        agent = request.headers.get("user-agent", "")
        peer = request.client.host if request.client else ""
        client = f"{agent} @{peer}".strip()
    return Actor(user[:128], Role.CLINICIAN, UNSCOPED_TENANT, client[:200])


CurrentActor = Annotated[Actor, Depends(header_actor)]
