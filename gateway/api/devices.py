"""Device registry: register, rebind to another patient from a given time, retire (through
`gateway.admin`, audited under the actor)."""

from __future__ import annotations

from fastapi import APIRouter

from devices.registry import Device
from gateway.api.deps import AdminDep, ReadsDep
from gateway.api.schemas import BindIn, BindingOut, DeviceIn, DeviceOut
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/devices", tags=["devices"])


def _out(d: Device) -> DeviceOut:
    return DeviceOut(
        device_id=d.device_id,
        tenant=d.tenant,
        kind=d.kind,
        kiosk=d.kiosk,
        retired_at=d.retired_at,
        bindings=[BindingOut(patient_id=b.patient_id, since=b.since) for b in d.bindings],
    )


@router.get("")
async def list_devices(reads: ReadsDep, actor: CurrentActor) -> list[DeviceOut]:
    """The caller's tenant's devices."""
    return [_out(d) for d in reads.registry.devices() if d.tenant == actor.tenant]


@router.get("/{device_id}")
async def get_device(reads: ReadsDep, actor: CurrentActor, device_id: str) -> DeviceOut:
    return _out(reads.device(actor, device_id))


@router.post("", status_code=201)
async def register_device(admin: AdminDep, actor: CurrentActor, body: DeviceIn) -> DeviceOut:
    dev = await admin.register_device(
        actor,
        body.device_id,
        body.kind,
        kiosk=body.kiosk,
        patient_id=body.patient_id,
        since=body.since,
    )
    return _out(dev)


@router.post("/{device_id}/bind")
async def bind(admin: AdminDep, actor: CurrentActor, device_id: str, body: BindIn) -> DeviceOut:
    return _out(await admin.bind_device(actor, device_id, body.patient_id, body.since))


@router.post("/{device_id}/retire")
async def retire(admin: AdminDep, actor: CurrentActor, device_id: str) -> DeviceOut:
    return _out(await admin.retire_device(actor, device_id))
