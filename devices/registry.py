"""Device registry: which device belongs to which patient, from when; which devices are kiosks.

Pure and in-memory; the gateway loads it from the relational store and writes changes through.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime

from devices.errors import DecodeError, RejectReason
from devices.model import Reading


@dataclass(frozen=True, slots=True)
class Binding:
    """`patient_id` owns the device's readings measured at or after `since`."""

    patient_id: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    tenant: str
    kind: str
    kiosk: bool = False
    retired_at: datetime | None = None
    bindings: tuple[Binding, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.device_id or "/" in self.device_id or "+" in self.device_id:
            raise ValueError(f"invalid device id {self.device_id!r}")
        if any(a.since > b.since for a, b in zip(self.bindings, self.bindings[1:], strict=False)):
            raise ValueError("bindings must be in time order")

    def bound_to(self, patient_id: str, since: datetime) -> Device:
        """This device rebound to `patient_id` from `since` on; earlier readings keep their
        patient (bindings from `since` on are replaced)."""
        kept = tuple(b for b in self.bindings if b.since < since)
        return replace(self, bindings=(*kept, Binding(patient_id, since)))

    def retired(self, at: datetime) -> Device:
        """This device out of service from `at` on."""
        return replace(self, retired_at=at)

    def patient_at(self, ts: datetime) -> str | None:
        """The patient bound at `ts` (a reading before the first binding has no patient)."""
        idx = bisect.bisect_right([b.since for b in self.bindings], ts) - 1
        return self.bindings[idx].patient_id if idx >= 0 else None


class DeviceRegistry:
    """Resolves readings to patients. `auto_bind` registers unknown devices (replay, demo)."""

    def __init__(self, devices: list[Device] | None = None, *, auto_bind: bool = False) -> None:
        self._devices: dict[str, Device] = {d.device_id: d for d in devices or []}
        # patient id -> the tenants that hold a patient of that id (ids are each tenant's own)
        self._patients: dict[str, set[str]] = {}
        self.auto_bind = auto_bind

    def admit(self, patient_id: str, tenant: str) -> None:
        """`tenant` holds a patient `patient_id`: a kiosk reading naming that id is refused in
        any tenant that holds no such patient while another one does."""
        self._patients.setdefault(patient_id, set()).add(tenant)

    def __contains__(self, device_id: str) -> bool:
        return device_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def devices(self) -> list[Device]:
        return list(self._devices.values())

    def put(self, device: Device) -> None:
        self._devices[device.device_id] = device

    def bind(self, device_id: str, patient_id: str, since: datetime) -> Device:
        """Rebind from `since` on; earlier readings keep their patient."""
        dev = self._devices[device_id].bound_to(patient_id, since)
        self._devices[device_id] = dev
        return dev

    def retire(self, device_id: str, at: datetime) -> Device:
        dev = self._devices[device_id].retired(at)
        self._devices[device_id] = dev
        return dev

    def resolve(self, reading: Reading) -> Reading:
        """Bind a decoded reading to its patient, or raise a DecodeError saying why not."""
        dev = self._devices.get(reading.device_id)
        if dev is None:
            if not self.auto_bind:
                raise DecodeError(RejectReason.UNKNOWN_DEVICE, f"device {reading.device_id!r}")
            dev = Device(
                reading.device_id,
                reading.tenant,
                reading.kind.value,
                kiosk=False,
                bindings=(Binding(reading.patient_id or reading.device_id, reading.ts),),
            )
            self._devices[dev.device_id] = dev
            self.admit(dev.bindings[0].patient_id, dev.tenant)
            return reading.evolve(dev.bindings[0].patient_id)
        if dev.tenant != reading.tenant:
            raise DecodeError(
                RejectReason.UNKNOWN_DEVICE,
                f"device {dev.device_id!r} in tenant "
                f"{reading.tenant!r} is registered to another tenant",
            )
        if dev.retired_at is not None and reading.ts >= dev.retired_at:
            raise DecodeError(RejectReason.RETIRED_DEVICE, f"device {dev.device_id!r} is retired")
        if dev.kiosk:
            if not reading.patient_id:
                raise DecodeError(RejectReason.SCHEMA, "kiosk reading without patient_id")
            holders = self._patients.get(reading.patient_id)
            if holders is not None and reading.tenant not in holders:
                raise DecodeError(
                    RejectReason.OTHER_TENANT,
                    f"kiosk {dev.device_id!r} of tenant {reading.tenant!r} names a patient "
                    "of another tenant",
                )
            return reading
        bound = dev.patient_at(reading.ts)
        if reading.patient_id is not None and reading.patient_id != bound:
            if self.auto_bind and bound is None:
                return reading
            raise DecodeError(
                RejectReason.NOT_KIOSK,
                f"patient_id {reading.patient_id!r} sent by personal device {dev.device_id!r}",
            )
        if bound is None:
            raise DecodeError(RejectReason.UNKNOWN_DEVICE, f"device {dev.device_id!r} is unbound")
        return reading.evolve(bound)
