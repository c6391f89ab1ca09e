"""OAuth2 token endpoint, the embedded issuer's key set, and who the caller is."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.api.security import TOKEN_URL, AuthorityDep, CurrentIdentity, peer_of
from gateway.auth.authority import Grant, GrantError

router = APIRouter(tags=["access"])

GRANT_TYPES = ("password", "client_credentials", "refresh_token")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str | None = None


class MeOut(BaseModel):
    user: str
    role: str
    tenant: str
    display_name: str


class JwksOut(BaseModel):
    keys: list[dict[str, str]]


def _basic(request: Request) -> tuple[str, str] | None:
    """Client credentials from `Authorization: Basic` (RFC 6749 2.3.1), if given."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


def _error(status: int, error: str, retry_after: float | None = None) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="hmg"'
    return JSONResponse({"error": error}, status_code=status, headers=headers)


@router.post(
    TOKEN_URL,
    response_model=TokenOut,
    responses={400: {"description": "OAuth2 error"}, 429: {"description": "too many attempts"}},
)
async def token(
    request: Request,
    auth: AuthorityDep,
    grant_type: Annotated[str, Form()],
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
    client_secret: Annotated[str, Form(max_length=1024)] = "",
    refresh_token: Annotated[str, Form(max_length=4096)] = "",
) -> JSONResponse:
    """OAuth2 token endpoint (form-encoded): `password` for people, `client_credentials` for
    integrations (form fields or HTTP Basic), `refresh_token` for a new access token."""
    peer = peer_of(request)
    grant: Grant
    try:
        if grant_type == "password":
            grant = await auth.password_grant(username, password, peer)
        elif grant_type == "client_credentials":
            basic = _basic(request)
            cid, secret = basic if basic else (client_id, client_secret)
            grant = await auth.client_grant(cid, secret, peer)
        elif grant_type == "refresh_token":
            grant = await auth.refresh_grant(refresh_token, peer)
        else:
            return _error(400, "unsupported_grant_type")
    except GrantError as exc:
        if exc.error == "too_many_attempts":
            return _error(429, exc.error, exc.retry_after)
        return _error(401 if exc.error == "invalid_client" else 400, exc.error)
    body = TokenOut(
        access_token=grant.access_token,
        expires_in=grant.expires_in,
        refresh_token=grant.refresh_token,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request,
    auth: AuthorityDep,
    identity: CurrentIdentity,
    refresh_token: Annotated[str, Form(max_length=4096)] = "",
) -> None:
    """Sign out: this access token is refused from now until it expires, and so is the
    session's refresh token when it is given (form field `refresh_token`)."""
    await auth.sign_out(identity, refresh_token, peer_of(request))


@router.get("/.well-known/jwks.json", response_model=JwksOut)
async def jwks(auth: AuthorityDep) -> JwksOut:
    """The embedded issuer's public keys, for services that verify its tokens."""
    return JwksOut.model_validate(auth.jwks())


@router.get("/auth/me", response_model=MeOut)
async def me(identity: CurrentIdentity) -> MeOut:
    return MeOut(
        user=identity.user,
        role=identity.role.value,
        tenant=identity.tenant,
        display_name=identity.display_name,
    )
