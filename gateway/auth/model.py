"""Accounts of the embedded issuer: people who log in and integrations that present a secret."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from gateway.actor import Role

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Roles a token may carry; `system` is the gateway itself and is never issued.
GRANTABLE = frozenset(r for r in Role if r is not Role.SYSTEM)


class AccountKind(enum.StrEnum):
    USER = "user"  # a person: password grant
    CLIENT = "client"  # an integration (home-care platform): client-credentials grant


@dataclass(frozen=True, slots=True)
class Account:
    """A local account; `secret_hash` is an Argon2id hash, never the secret itself."""

    name: str
    kind: AccountKind
    role: Role
    tenant: str
    display_name: str
    secret_hash: str
    disabled: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(
                f"account name {self.name!r}: 2-64 of a-z 0-9 . _ @ -, starting alphanumeric"
            )
        if not TENANT.match(self.tenant):
            raise ValueError(f"tenant {self.tenant!r}: 1-64 of A-Z a-z 0-9 _ -")
        if self.role not in GRANTABLE:
            raise ValueError(f"role {self.role!r} cannot be given to an account")
