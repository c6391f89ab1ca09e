"""Who acts: the verified identity behind an API call, a dashboard action or a service job.

The actor always comes from a verified token (or is the gateway itself for timers and detectors),
never from a request body or header. Every action and every audit row carries one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    """What an actor may do; checked by the API guards and recorded in the audit trail."""

    CLINICIAN = "clinician"
    CARDIOLOGIST = "cardiologist"
    ADMIN = "admin"
    AUDITOR = "auditor"
    OPERATOR = "operator"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """A verified identity: user (or client id), role, tenant and the client it acts through.

    `client` is the token's client id plus the peer address (e.g. `dashboard@10.0.0.7`).
    """

    user: str
    role: Role
    tenant: str
    client: str = ""

    def __post_init__(self) -> None:
        if not self.user:
            raise ValueError("actor without a user")
        if not self.tenant:
            raise ValueError("actor without a tenant")


def system_actor(tenant: str, component: str = "gateway") -> Actor:
    """The gateway itself, acting for timers, detectors and start-up jobs."""
    return Actor(user=f"system:{component}", role=Role.SYSTEM, tenant=tenant, client=component)
