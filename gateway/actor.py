"""Who acts (see `alerts.actor`): re-exported here for the API and the service.

The identity lives in `alerts` because the alert desk's actions take it; `gateway` reads it from
verified tokens and records it in the audit trail.
"""

from alerts.actor import Actor, Role, system_actor

__all__ = ["Actor", "Role", "system_actor"]
