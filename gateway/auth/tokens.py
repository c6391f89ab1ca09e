"""Bearer tokens: the embedded issuer's, and a hospital identity provider's (OIDC), checked alike.

Every token must name a trusted issuer, the configured audience, an expiry, a subject, a known
role and a tenant, and be signed with an allowed asymmetric algorithm by a key of that issuer's
key set (`alg: none` and HMAC algorithms are never allowed). Time claims are checked against the
injected clock, with a small leeway for clock skew between the IdP and the gateway.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientError, PyJWTError

from gateway.actor import Actor, Role
from gateway.auth.keys import ALGORITHM, KeyRing
from gateway.auth.model import GRANTABLE, Account

Clock = Callable[[], datetime]
REFRESH = "refresh"


def _now() -> datetime:
    return datetime.now(UTC)


class TokenError(Exception):
    """A token that does not prove who is calling; `reason` is a short code for logs and audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Identity:
    """What a verified token says: who, in which role and tenant, through which client."""

    user: str
    role: Role
    tenant: str
    client_id: str
    display_name: str
    issuer: str
    expires_at: datetime
    token_id: str = ""  # the token's `jti` (what sign-out revokes), if it has one

    def actor(self, peer: str | None) -> Actor:
        client = f"{self.client_id}@{peer}" if peer else self.client_id
        return Actor(user=self.user, role=self.role, tenant=self.tenant, client=client)


@dataclass(frozen=True, slots=True)
class RefreshSubject:
    """What one of our refresh tokens says: the account, its client, the token's id and end."""

    name: str
    client_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TrustedIdp:
    """A hospital identity provider: its issuer, key-set URL and how its claims map to ours."""

    issuer: str
    jwks_url: str
    audience: str
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    user_claim: str = "preferred_username"
    role_claim: str = "roles"
    tenant_claim: str = "tenant"
    client_claim: str = "azp"
    refresh_cooldown_s: float = 30.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        bad = [a for a in self.algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if bad or not self.algorithms:
            raise ValueError(f"algorithms not allowed for a key set: {bad}")


def claim(payload: Mapping[str, Any], path: str) -> Any:
    """A (dotted) claim, e.g. `realm_access.roles` for Keycloak."""
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def role_of(value: Any) -> Role:
    names = [value] if isinstance(value, str) else list(value or [])
    for name in names:
        if isinstance(name, str) and name in GRANTABLE:
            return Role(name)
    raise TokenError("no_role")


class TokenIssuer:
    """Signs the embedded issuer's access and refresh tokens with the key ring's current key."""

    def __init__(
        self,
        keys: KeyRing,
        issuer: str,
        audience: str,
        *,
        ttl_s: int,
        refresh_ttl_s: int,
        clock: Clock = _now,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.clock = clock

    def _sign(self, claims: dict[str, Any], ttl_s: int) -> str:
        now = self.clock()
        key = self.keys.current
        body = {
            **claims,
            "iss": self.issuer,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(body, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})

    def access_token(self, account: Account, client_id: str) -> str:
        return self.mint(
            account.name, account.role, account.tenant, client_id, account.display_name
        )

    def mint(
        self,
        user: str,
        role: Role,
        tenant: str,
        client_id: str = "hmg",
        display_name: str = "",
        ttl_s: int | None = None,
    ) -> str:
        claims = {
            "aud": self.audience,
            "sub": user,
            "role": role.value,
            "tenant": tenant,
            "client_id": client_id,
            "name": display_name or user,
        }
        return self._sign(claims, self.ttl_s if ttl_s is None else ttl_s)

    def refresh_token(self, account: Account, client_id: str) -> str:
        """Longer-lived, only good at the token endpoint (its own audience) for a new access
        token; the account is looked up again there, so disabling it stops refreshes."""
        claims = {"aud": f"{self.audience}#{REFRESH}", "sub": account.name, "client_id": client_id}
        return self._sign(claims, self.refresh_ttl_s)


class TokenVerifier:
    """Checks bearer tokens of the embedded issuer (local key ring) and of trusted IdPs."""

    def __init__(
        self,
        *,
        local: KeyRing | None,
        issuer: str,
        audience: str,
        idps: Sequence[TrustedIdp] = (),
        leeway_s: float = 30.0,
        clock: Clock = _now,
    ) -> None:
        self.local = local
        self.issuer = issuer
        self.audience = audience
        self.idps = {i.issuer: i for i in idps}
        self.leeway = timedelta(seconds=leeway_s)
        self.clock = clock
        self._clients: dict[str, PyJWKClient] = {}
        for idp in idps:
            ctx = ssl.create_default_context(cafile=idp.ca_file) if idp.ca_file else None
            self._clients[idp.issuer] = PyJWKClient(
                idp.jwks_url,
                cache_jwk_set=True,
                lifespan=300,
                timeout=5,
                ssl_context=ctx,
                cooldown_duration=idp.refresh_cooldown_s,
            )

    @property
    def remote(self) -> bool:
        """True when some issuer's keys are fetched over the network (verify off the loop)."""
        return bool(self.idps)

    def verify(self, token: str) -> Identity:
        """The identity a token proves, or `TokenError`. May fetch an IdP's key set (blocking)."""
        payload, idp, expires = self._decode(token, None)
        if idp is None:
            return self._local_identity(payload, expires)
        return self._idp_identity(idp, payload, expires)

    def refresh_subject(self, token: str) -> RefreshSubject:
        """Whose one of our own refresh tokens is, or `TokenError`."""
        payload, idp, expires = self._decode(token, f"{self.audience}#{REFRESH}")
        if idp is not None:
            raise TokenError("untrusted_issuer")
        return RefreshSubject(
            str(payload["sub"]),
            str(payload.get("client_id") or "hmg"),
            str(payload.get("jti") or ""),
            expires,
        )

    def _decode(
        self, token: str, audience: str | None
    ) -> tuple[dict[str, Any], TrustedIdp | None, datetime]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except PyJWTError as exc:
            raise TokenError("malformed") from exc
        alg = header.get("alg")
        kid = header.get("kid")
        iss = unverified.get("iss")
        if not isinstance(kid, str) or not kid:
            raise TokenError("no_key_id")
        idp = self.idps.get(iss) if isinstance(iss, str) else None
        if iss == self.issuer and self.local is not None:
            allowed: Sequence[str] = (ALGORITHM,)
            own = self.local.find(kid)
            if own is None:
                raise TokenError("unknown_key")
            key: Any = own.private.public_key()
        elif idp is not None:
            allowed = idp.algorithms
            if alg not in allowed:
                raise TokenError("algorithm_not_allowed")
            try:
                key = self._clients[idp.issuer].get_signing_key(kid).key
            except PyJWKClientError as exc:
                raise TokenError("unknown_key") from exc
        else:
            raise TokenError("untrusted_issuer")
        if alg not in allowed:
            raise TokenError("algorithm_not_allowed")
        expected_aud = audience or (idp.audience if idp else self.audience)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=list(allowed),
                audience=expected_aud,
                issuer=iss,
                options={
                    "require": ["exp", "iss", "aud", "sub"],
                    # time claims are checked below against the injected clock
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise TokenError("wrong_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenError("wrong_issuer") from exc
        except PyJWTError as exc:
            raise TokenError("invalid_signature_or_claims") from exc
        return payload, idp, self._check_times(payload)

    def _check_times(self, payload: Mapping[str, Any]) -> datetime:
        now = self.clock()
        try:
            exp = datetime.fromtimestamp(float(payload["exp"]), UTC)
            nbf = payload.get("nbf")
            not_before = datetime.fromtimestamp(float(nbf), UTC) if nbf is not None else None
        except (TypeError, ValueError, OverflowError) as exc:
            raise TokenError("bad_time_claim") from exc
        if now - self.leeway >= exp:
            raise TokenError("expired")
        if not_before is not None and now + self.leeway < not_before:
            raise TokenError("not_yet_valid")
        return exp

    def _local_identity(self, payload: Mapping[str, Any], expires: datetime) -> Identity:
        client_id = str(payload.get("client_id") or "hmg")
        tenant = payload.get("tenant")
        if not isinstance(tenant, str) or not tenant:
            raise TokenError("no_tenant")
        return Identity(
            user=str(payload["sub"]),
            role=role_of(payload.get("role")),
            tenant=tenant,
            client_id=client_id,
            display_name=str(payload.get("name") or payload["sub"]),
            issuer=self.issuer,
            expires_at=expires,
            token_id=str(payload.get("jti") or ""),
        )

    @staticmethod
    def _idp_identity(idp: TrustedIdp, payload: Mapping[str, Any], expires: datetime) -> Identity:
        user = claim(payload, idp.user_claim) or payload["sub"]
        tenant = claim(payload, idp.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise TokenError("no_tenant")
        return Identity(
            user=str(user),
            role=role_of(claim(payload, idp.role_claim)),
            tenant=tenant,
            client_id=str(claim(payload, idp.client_claim) or "idp"),
            display_name=str(payload.get("name") or user),
            issuer=idp.issuer,
            expires_at=expires,
            token_id=str(payload.get("jti") or ""),
        )
