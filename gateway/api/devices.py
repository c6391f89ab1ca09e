"""Device registry: register, rebind to another patient from a given time, retire."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from devices.kinds import Kind
from devices.registry import Binding, Device
from gateway.api.deps import GatewayDep
from gateway.api.schemas import BindIn, BindingOut, DeviceIn, DeviceOut
from gateway.provision import reserved_name

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
        raise HTTPException(404, f"device {device_id!r} not found")
    return _out(d)


@router.post("", status_code=201)
async def register_device(gw: GatewayDep, body: DeviceIn) -> DeviceOut:
    if body.device_id in gw.registry:
        raise HTTPException(409, f"device {body.device_id!r} already registered")
    if reserved_name(body.device_id):
        raise HTTPException(422, "this device name is reserved for the gateway")
    if body.kind not in {k.value for k in Kind} | {"kiosk"}:
        raise HTTPException(422, f"unknown device kind {body.kind!r}")
    if body.kiosk and body.patient_id:
        raise HTTPException(422, "a kiosk is shared: it has no patient binding")
    now = gw.clock()
    bindings = (Binding(body.patient_id, body.since or now),) if body.patient_id else ()
    dev = Device(body.device_id, body.tenant, body.kind, kiosk=body.kiosk, bindings=bindings)
    await gw.stores.patients.save_device(dev, now)
    gw.registry.put(dev)
    return _out(dev)


@router.post("/{device_id}/bind")
async def bind(gw: GatewayDep, device_id: str, body: BindIn) -> DeviceOut:
    if device_id not in gw.registry:
        raise HTTPException(404, f"device {device_id!r} not found")
    dev = gw.registry.bind(device_id, body.patient_id, body.since or gw.clock())
    await gw.stores.patients.save_device(dev, gw.clock())
    return _out(dev)


@router.post("/{device_id}/retire")
async def retire(gw: GatewayDep, device_id: str) -> DeviceOut:
    if device_id not in gw.registry:
        raise HTTPException(404, f"device {device_id!r} not found")
    dev = gw.registry.retire(device_id, gw.clock())
    await gw.stores.patients.save_device(dev, gw.clock())
    return _out(dev)
