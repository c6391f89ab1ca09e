"""Names a device may not take: the gateway's own broker user and the `hmg-` prefix (the gateway's
and the demo's own clients). A device named so could take the gateway's identity."""

from __future__ import annotations

GATEWAY_USER = "hmg-gateway"
RESERVED_PREFIX = "hmg-"


def reserved_name(device_id: str, gateway_user: str = GATEWAY_USER) -> bool:
    """True for a name a device may not take (see the module docstring)."""
    name = device_id.strip().lower()
    return name == gateway_user.lower() or name.startswith(RESERVED_PREFIX)
