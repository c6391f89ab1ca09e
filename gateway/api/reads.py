"""The read side the routes query, scoped to the caller's tenant.

Lists are filtered by the caller's tenant in their queries; single objects named in a path go
through `Reads.patient` and `Reads.device`, which answer 404 alike for an object that does not
exist and one that belongs to another tenant, so a caller cannot even learn that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from alerts.escalation import EscalationState
from alerts.policy import EscalationPolicy
from alerts.targets import Targets
from devices.model import PatientKey
from devices.registry import Device, DeviceRegistry
from gateway.actor import Actor
from gateway.admin import tenant_device
from gateway.errors import NotFoundError
from gateway.storage import ReadingStore, Stores
from gateway.storage.patients import Patient


@dataclass(frozen=True, slots=True)
class Reads:
    """What a read-only route may ask: the relational stores, the readings, the device
    registry, the desk's escalation timers and policies, the care-team targets in force, and the
    gateway's clock."""

    stores: Stores
    readings: ReadingStore
    registry: DeviceRegistry
    timer: Callable[[str], EscalationState | None]
    policy: Callable[[str], EscalationPolicy | None]
    targets: Callable[[PatientKey], Targets]
    now: Callable[[], datetime]

    async def patient(self, actor: Actor, patient_id: str) -> Patient:
        """The patient if the actor's tenant holds it."""
        p = await self.stores.patients.get_patient(PatientKey(actor.tenant, patient_id))
        if p is None:
            raise NotFoundError("patient", patient_id)
        return p

    def device(self, actor: Actor, device_id: str) -> Device:
        """The device if it is registered to the actor's tenant."""
        return tenant_device(self.registry, actor, device_id)
