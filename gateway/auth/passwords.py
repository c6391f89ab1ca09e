"""Argon2id password hashing (argon2-cffi), with a dummy check so unknown names cost the same."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12

# RFC 9106's second recommended option (64 MiB, 3 passes), Argon2id.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, type=Type.ID)
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


class WeakPasswordError(ValueError):
    """A password shorter than `MIN_LENGTH` characters."""


def hash_secret(secret: str) -> str:
    if len(secret) < MIN_LENGTH:
        raise WeakPasswordError(f"passwords need at least {MIN_LENGTH} characters")
    return _HASHER.hash(secret)


def check_secret(secret: str, encoded: str | None) -> bool:
    """True when `secret` matches; an absent account is checked against a dummy hash."""
    try:
        return _HASHER.verify(encoded or _DUMMY, secret) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    """A random secret for generated accounts (demo users, integrations)."""
    return secrets.token_urlsafe(18)
