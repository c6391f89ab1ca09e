"""Tenant scoping of the objects a route names: another tenant's object is "not found".

Lists are filtered by the caller's tenant in their queries; single objects named in a path go
through these helpers, which answer 404 alike for an object that does not exist and one that
belongs to another tenant, so a caller cannot even learn that it exists.
"""

from __future__ import annotations

from devices.model import PatientKey
from devices.registry import Device
from gateway.actor import Actor
from gateway.errors import NotFoundError
from gateway.runtime.service import Gateway
from gateway.storage.patients import Patient


async def visible_patient(gw: Gateway, actor: Actor, patient_id: str) -> Patient:
    """The patient if the actor's tenant holds it."""
    p = await gw.stores.patients.get_patient(PatientKey(actor.tenant, patient_id))
    if p is None:
        raise NotFoundError("patient", patient_id)
    return p


def visible_device(gw: Gateway, actor: Actor, device_id: str) -> Device:
    """The device if it is registered to the actor's tenant."""
    d = gw.registry.get(device_id)
    if d is None or d.tenant != actor.tenant:
        raise NotFoundError("device", device_id)
    return d
