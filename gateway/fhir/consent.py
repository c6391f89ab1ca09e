"""Recording an elder's consent to share their record with the regional platform.

One path for both directions: the consent row, its audit entry (before and after) and, when
sharing starts, the push of the elder's whole record are written in one transaction. A
withdrawal stops every later push at once: gathering skips the elder, and a push already queued
is dropped at delivery (`gateway.fhir.platform`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from devices.model import PatientKey
from gateway.actor import Actor
from gateway.errors import NotFoundError
from gateway.storage.audit import AuditEntry
from gateway.storage.consents import Consent, ConsentStatus

if TYPE_CHECKING:
    from gateway.fhir.push import PlatformPush
    from gateway.storage import Stores

__all__ = ["ConsentParts", "consent_of", "record_consent"]


class ConsentParts(Protocol):
    """What recording a consent uses: the stores, the platform push (None when off), the clock."""

    @property
    def stores(self) -> Stores: ...

    @property
    def platform(self) -> PlatformPush | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


def _state(c: Consent | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"status": c.status.value, "recorded_by": c.recorded_by, "note": c.note}


async def consent_of(stores: Stores, tenant: str, patient_id: str) -> Consent | None:
    if await stores.patients.get_patient(PatientKey(tenant, patient_id)) is None:
        raise NotFoundError("patient", patient_id)
    return await stores.consents.get(tenant, patient_id)


async def record_consent(
    parts: ConsentParts, actor: Actor, patient_id: str, status: ConsentStatus, note: str | None
) -> Consent:
    """Record the elder's consent (or its withdrawal) as told by `actor`, audited."""
    before = await consent_of(parts.stores, actor.tenant, patient_id)
    now = parts.clock()
    c = Consent(actor.tenant, patient_id, status, now, actor.user, note)
    action = "consent.record" if c.shares else "consent.withdraw"
    platform = parts.platform
    async with parts.stores.transaction() as tx:
        await parts.stores.consents.put(c, tx=tx)
        await parts.stores.audit.append(
            AuditEntry.by(
                actor, now, action, "patient", patient_id,
                before=_state(before), after=_state(c),
            ),
            tx=tx,
        )  # fmt: skip
        starts = c.shares and (before is None or not before.shares)
        queued = await platform.share_record(c, tx=tx) if starts and platform is not None else []
    if platform is not None:
        platform.hand(queued)
    return c
