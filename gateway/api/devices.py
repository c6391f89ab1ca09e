"""Device registry: register, rebind to another patient from a given time, retire (through
`gateway.admin`, audited under the actor)."""

from __future__ import annotations

from fastapi import APIRouter

from devices.registry import Device
from gateway.api.deps import CurrentActor, GatewayDep
from gateway.api.schemas import BindIn, BindingOut, DeviceIn, DeviceOut
from gateway.errors import NotFoundError

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
async def list_devices(gw: GatewayDep, tenant: str | None = None) -> list[DeviceOut]:
    return [_out(d) for d in gw.registry.devices() if tenant is None or d.tenant == tenant]


@router.get("/{device_id}")
async def get_device(gw: GatewayDep, device_id: str) -> DeviceOut:
    d = gw.registry.get(device_id)
    if d is None:
        raise NotFoundError("device", device_id)
    return _out(d)


@router.post("", status_code=201)
async def register_device(gw: GatewayDep, actor: CurrentActor, body: DeviceIn) -> DeviceOut:
    dev = await gw.admin.register_device(
        actor,
        body.device_id,
        body.tenant,
        body.kind,
        kiosk=body.kiosk,
        patient_id=body.patient_id,
        since=body.since,
    )
    return _out(dev)


@router.post("/{device_id}/bind")
async def bind(gw: GatewayDep, actor: CurrentActor, device_id: str, body: BindIn) -> DeviceOut:
    return _out(await gw.admin.bind_device(actor, device_id, body.patient_id, body.since))


@router.post("/{device_id}/retire")
async def retire(gw: GatewayDep, actor: CurrentActor, device_id: str) -> DeviceOut:
    return _out(await gw.admin.retire_device(actor, device_id))
