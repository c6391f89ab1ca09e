"""Access: local accounts, the embedded token issuer, and bearer-token verification."""

from gateway.auth.authority import Authority, Grant, GrantError
from gateway.auth.keys import KeyRing
from gateway.auth.model import Account, AccountKind
from gateway.auth.tokens import Identity, TokenError, TokenIssuer, TokenVerifier, TrustedIdp

__all__ = [
    "Account",
    "AccountKind",
    "Authority",
    "Grant",
    "GrantError",
    "Identity",
    "KeyRing",
    "TokenError",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIdp",
]
