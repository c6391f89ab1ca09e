"""Who is calling: the bearer token checked on every guarded route, and role requirements.

`CurrentIdentity`/`CurrentActor` are the only way a route learns who acts; the role checks
(`require`) build on them. The token comes from the `Authorization: Bearer` header only (never a
cookie, so a cross-site form cannot act with it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from gateway.actor import Actor, Role
from gateway.auth.authority import Authority
from gateway.auth.tokens import Identity, TokenError

TOKEN_URL = "/auth/token"

bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, refreshUrl=TOKEN_URL, auto_error=False)


def get_authority(request: Request) -> Authority:
    auth: Authority = request.app.state.auth
    return auth


AuthorityDep = Annotated[Authority, Depends(get_authority)]


def _unauthorized(error: str | None = None) -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="authentication required",
        headers={"WWW-Authenticate": challenge},
    )


async def current_identity(
    request: Request, auth: AuthorityDep, token: Annotated[str | None, Depends(bearer)]
) -> Identity:
    cached: Identity | None = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    if not token:
        raise _unauthorized()
    try:
        identity = await auth.authenticate(token)
    except TokenError as exc:
        raise _unauthorized("invalid_token") from exc
    request.state.identity = identity
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def peer_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_actor(request: Request, identity: CurrentIdentity) -> Actor:
    return identity.actor(peer_of(request))


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets through only actors with one of `roles` (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(actor: CurrentActor) -> Actor:
        if actor.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="role not allowed")
        return actor

    return check
