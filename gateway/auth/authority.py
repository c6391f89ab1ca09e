"""The gateway's access authority: grants tokens to local accounts and checks bearer tokens.

One object per service, built from settings: the key ring in `{data_dir}/auth`, the embedded
issuer, the verifier (embedded issuer and trusted IdPs), the account store and the login limiter.
Every grant decision is audited (who tried, from where, and why it failed), never the secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.actor import Role
from gateway.auth.keys import KeyRing, private_dir
from gateway.auth.limiter import LoginLimiter
from gateway.auth.model import Account, AccountKind
from gateway.auth.passwords import check_secret
from gateway.auth.tokens import Identity, TokenError, TokenIssuer, TokenVerifier, TrustedIdp
from gateway.runtime.settings import Settings

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Accounts(Protocol):
    async def get(self, name: str) -> Account | None: ...

    async def revoke(
        self, token_id: str, user: str, expires_at: datetime, now: datetime
    ) -> None: ...

    async def revoked(self, token_id: str) -> bool: ...


class Owner(Protocol):
    """Whose role and tenant an audit row records: an account, or a verified token."""

    @property
    def role(self) -> Role: ...

    @property
    def tenant(self) -> str: ...


# (action, account name or client id, client/peer, detail, the account or token when known:
# its role and tenant are recorded) -> audit row
AuditHook = Callable[[str, str, str, Mapping[str, Any], Owner | None], Awaitable[None]]


class GrantError(Exception):
    """A refused grant: `error` is the OAuth2 error code, `retry_after` set when rate limited."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Grant:
    access_token: str
    expires_in: int
    refresh_token: str | None = None


class Authority:
    def __init__(
        self,
        *,
        accounts: Accounts,
        verifier: TokenVerifier,
        issuer: TokenIssuer | None,
        limiter: LoginLimiter,
        audit: AuditHook,
        clock: Clock = _now,
    ) -> None:
        self.clock = clock
        self.accounts = accounts
        self.verifier = verifier
        self.issuer = issuer
        self.limiter = limiter
        self.audit = audit

    @classmethod
    def from_settings(
        cls, settings: Settings, accounts: Accounts, audit: AuditHook, clock: Clock = _now
    ) -> Authority:
        keys = (
            KeyRing(private_dir(settings.storage.data_dir / "auth"))
            if settings.auth.embedded
            else None
        )
        idps = []
        if settings.oidc.issuer and settings.oidc.jwks_url:
            idps.append(
                TrustedIdp(
                    issuer=settings.oidc.issuer,
                    jwks_url=settings.oidc.jwks_url,
                    audience=settings.oidc.audience or settings.auth.audience,
                    algorithms=tuple(settings.oidc.algorithms),
                    user_claim=settings.oidc.user_claim,
                    role_claim=settings.oidc.role_claim,
                    tenant_claim=settings.oidc.tenant_claim,
                    client_claim=settings.oidc.client_claim,
                    refresh_cooldown_s=settings.oidc.refresh_cooldown_s,
                    ca_file=str(settings.oidc.ca_file) if settings.oidc.ca_file else None,
                )
            )
        verifier = TokenVerifier(
            local=keys,
            issuer=settings.auth.issuer,
            audience=settings.auth.audience,
            idps=idps,
            leeway_s=settings.oidc.leeway_s,
            clock=clock,
        )
        issuer = None
        if keys is not None:
            issuer = TokenIssuer(
                keys,
                settings.auth.issuer,
                settings.auth.audience,
                ttl_s=settings.auth.token_ttl_s,
                refresh_ttl_s=settings.auth.refresh_ttl_s,
                clock=clock,
            )
        limiter = LoginLimiter(clock, settings.auth.login_failures, settings.auth.login_window_s)
        return cls(
            accounts=accounts,
            verifier=verifier,
            issuer=issuer,
            limiter=limiter,
            audit=audit,
            clock=clock,
        )

    # -- bearer tokens ----------------------------------------------------------------------
    async def authenticate(self, token: str) -> Identity:
        """The identity of a bearer token, or `TokenError` (also for a signed-out one)."""
        if self.verifier.remote:  # an IdP key-set fetch must not block the event loop
            identity = await asyncio.to_thread(self.verifier.verify, token)
        else:
            identity = self.verifier.verify(token)
        if identity.token_id and await self.accounts.revoked(identity.token_id):
            raise TokenError("revoked")
        return identity

    async def sign_out(self, identity: Identity, refresh_token: str, peer: str) -> None:
        """End a session: its access token (by id, until it expires) and, when given, the
        refresh token of the same user are refused from now on."""
        now = self.clock()
        if identity.token_id:
            await self.accounts.revoke(identity.token_id, identity.user, identity.expires_at, now)
        ended = {"access": bool(identity.token_id), "refresh": False}
        if refresh_token:
            try:
                subject = self.verifier.refresh_subject(refresh_token)
            except TokenError:
                subject = None
            if subject is not None and subject.name == identity.user and subject.token_id:
                await self.accounts.revoke(subject.token_id, subject.name, subject.expires_at, now)
                ended["refresh"] = True
        await self.audit("logout", identity.user, peer, ended, identity)

    def jwks(self) -> dict[str, Any]:
        keys = self.verifier.local
        return keys.jwks() if keys is not None else {"keys": []}

    # -- grants -------------------------------------------------------------------------------
    def _issuer(self) -> TokenIssuer:
        if self.issuer is None:
            raise GrantError("unsupported_grant_type")
        return self.issuer

    async def password_grant(self, name: str, password: str, peer: str) -> Grant:
        return await self._secret_grant(AccountKind.USER, name, password, peer, "password")

    async def client_grant(self, client_id: str, secret: str, peer: str) -> Grant:
        return await self._secret_grant(AccountKind.CLIENT, client_id, secret, peer, client_id)

    async def _secret_grant(
        self, kind: AccountKind, name: str, secret: str, peer: str, client_id: str
    ) -> Grant:
        issuer = self._issuer()
        name = name.strip().lower()[:64]
        account = await self.accounts.get(name) if name else None
        wait = self.limiter.retry_after(name, peer)
        if wait is not None:
            await self.audit("login_refused", name, peer, {"reason": "rate_limited"}, account)
            raise GrantError("too_many_attempts", wait)
        stored = account.secret_hash if account and account.kind is kind else None
        ok = await asyncio.to_thread(check_secret, secret, stored)
        error = "invalid_grant" if kind is AccountKind.USER else "invalid_client"
        if not ok or account is None:
            self.limiter.failed(name, peer)
            await self.audit("login_failed", name, peer, {"grant": kind.value}, account)
            raise GrantError(error)
        if account.disabled:
            self.limiter.failed(name, peer)
            await self.audit(
                "login_failed", name, peer, {"grant": kind.value, "reason": "disabled"}, account
            )
            raise GrantError(error)
        self.limiter.succeeded(name)
        await self.audit(
            "login", name, peer, {"grant": kind.value, "client_id": client_id}, account
        )
        refresh = None
        if kind is AccountKind.USER and issuer.refresh_ttl_s > 0:
            refresh = issuer.refresh_token(account, client_id)
        return Grant(issuer.access_token(account, client_id), issuer.ttl_s, refresh)

    async def refresh_grant(self, token: str, peer: str) -> Grant:
        """A new access token and a new refresh token; the one presented is used up (a refresh
        token works once, so a stolen copy used after its owner is refused)."""
        issuer = self._issuer()
        try:
            subject = self.verifier.refresh_subject(token)
        except TokenError as exc:
            await self.audit("refresh_failed", "-", peer, {"reason": exc.reason}, None)
            raise GrantError("invalid_grant") from exc
        name = subject.name
        account = await self.accounts.get(name)
        if not subject.token_id or await self.accounts.revoked(subject.token_id):
            await self.audit("refresh_failed", name, peer, {"reason": "revoked"}, account)
            raise GrantError("invalid_grant")
        if account is None or account.disabled or account.kind is not AccountKind.USER:
            await self.audit("refresh_failed", name, peer, {"reason": "account"}, account)
            raise GrantError("invalid_grant")
        await self.accounts.revoke(subject.token_id, name, subject.expires_at, self.clock())
        return Grant(
            issuer.access_token(account, subject.client_id),
            issuer.ttl_s,
            issuer.refresh_token(account, subject.client_id),
        )
