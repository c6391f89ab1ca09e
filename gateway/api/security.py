"""Who is calling, and whether they may: the app-wide guard over the route policy table.

`guard` runs before every API route (it is the app's own dependency, so no router can leave it
out). It looks the matched route up in `gateway.api.policy`: a route without a policy is refused;
a public route passes; any other needs a verified bearer token (`Authorization: Bearer` only,
never a cookie, so a cross-site form cannot act with it) whose role the route admits. The actor
(user, role, tenant from the token; client = the token's client id plus the peer address), the
guard's result, is then the only way a route learns who acts (`CurrentActor`), and the tenant
every query is scoped to.
Reads of health data are recorded in the audit trail before they are served.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer

from gateway.actor import Actor, Role
from gateway.api.deps import get_reads
from gateway.api.limits import RateLimiter
from gateway.api.policy import Access, access_for
from gateway.auth.authority import Authority
from gateway.auth.tokens import Identity, TokenError
from gateway.storage.audit import AuditEntry

TOKEN_URL = "/auth/token"

bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, refreshUrl=TOKEN_URL, auto_error=False)

# Path parameters that name the subject of a health-data read, most specific first.
_SUBJECTS = (
    ("patient_id", "patient"),
    ("alert_id", "alert"),
    ("referral_id", "referral"),
    ("request_id", "consultation"),
)


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


def peer_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_identity(
    request: Request, auth: AuthorityDep, token: Annotated[str | None, Depends(bearer)]
) -> Identity:
    """The verified token's identity (checked once per request)."""
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


def route_access(request: Request) -> tuple[str, Access | None]:
    """The matched route's path template and its policy (None: the route has none)."""
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else ""
    return path, access_for(request.method, path) if path else None


async def guard(
    request: Request, auth: AuthorityDep, token: Annotated[str | None, Depends(bearer)]
) -> Actor | None:
    """Deny by default: 403 for a route without a policy, 401 without a valid token, 403 for
    a role the route does not admit; the health-data read is audited before it is served.
    The verified actor comes back (None on a public route): routes take it as `CurrentActor`,
    the same call, since FastAPI solves a dependency once per request."""
    path, access = route_access(request)
    if access is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="no access policy for this route")
    if access.public:
        _spend(request, f"peer:{peer_of(request)}")
        return None
    try:
        identity = await current_identity(request, auth, token)
    except HTTPException:
        _spend(request, f"peer:{peer_of(request)}")  # a flood of bad tokens is limited too
        raise
    actor = identity.actor(peer_of(request))
    _spend(request, f"{actor.tenant}/{actor.user}/{actor.client}")
    if actor.role not in access.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="role not allowed")
    if access.audit_read:
        await _record_read(request, actor, path)
    return actor


def _spend(request: Request, client: str) -> None:
    """One call of `client` (429 with `Retry-After` past its rate)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.take(client)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many requests",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


async def _record_read(request: Request, actor: Actor, path: str) -> None:
    params = request.path_params
    kind, subject = next(
        ((kind, str(params[name])) for name, kind in _SUBJECTS if name in params),
        ("resource", path),
    )
    reads = get_reads(request)
    resource = f"{request.method} {request.url.path}"
    if request.url.query:
        resource += f"?{request.url.query}"
    entry = AuditEntry.read(
        actor, reads.now(), subject, resource[:500], subject_type=kind,
        detail={"route": f"{request.method} {path}"},
    )  # fmt: skip
    await reads.stores.audit.record_read(entry)  # committed (with concurrent reads) before serving


# The actor the guard verified for this request: the guard's own result, not a second lookup.
# A public route never takes it (it must not act for anyone; `tests/gateway/api/test_policy.py`).
CurrentActor = Annotated[Actor, Depends(guard)]


def require(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A second, local check of the role (the policy table is the first): 403 otherwise."""
    allowed = frozenset(roles)

    async def check(actor: CurrentActor) -> Actor:
        if actor.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="role not allowed")
        return actor

    return check
