"""Administrators' actions: patients and their alert targets, devices, rosters.

The same shape as the clinicians' actions (`gateway.actions`): each method checks the request
against what is stored, computes the change with pure domain code, writes the change and its audit
entry in one transaction, and only then updates the running gateway (device registry, detector
targets). A failed write changes nothing, and nothing is changed without its audit entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from alerts.roster import CareTeam, Contact, Member, Rotation
from alerts.targets import DEFAULT_TARGETS, TargetError, Targets
from devices.kinds import Kind
from devices.registry import Binding, Device, DeviceRegistry
from gateway.actor import Actor
from gateway.errors import ConflictError, InvalidError, NotFoundError
from gateway.provision import reserved_name
from gateway.storage import AuditEntry, Patient, Stores, Transaction

# Kinds a device may be registered as (a kiosk measures several).
DEVICE_KINDS = frozenset({k.value for k in Kind} | {"kiosk"})


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """What an administrator sets on a patient (targets have their own action)."""

    tenant: str
    name: str | None = None
    birth_year: int | None = None
    lives_alone: bool = False
    disability: bool = False
    care_team: str | None = None


@dataclass(frozen=True, slots=True)
class EmergencyContact:
    """Someone to call about a patient: `relation` to the patient (daughter, neighbour, ...)."""

    name: str
    relation: str
    lang: str
    contacts: tuple[Contact, ...]


def _patient_doc(p: Patient | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "tenant": p.tenant,
        "name": p.name,
        "birth_year": p.birth_year,
        "lives_alone": p.lives_alone,
        "disability": p.disability,
        "care_team": p.care_team,
        "targets": dict(p.targets),
    }


def _device_doc(d: Device | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "tenant": d.tenant,
        "kind": d.kind,
        "kiosk": d.kiosk,
        "retired_at": d.retired_at.isoformat() if d.retired_at else None,
        "bindings": [[b.patient_id, b.since.isoformat()] for b in d.bindings],
    }


def _member_doc(m: Member) -> dict[str, Any]:
    contacts = [{"channel": c.channel, "address": c.address} for c in m.contacts]
    return {
        "tenant": m.tenant,
        "name": m.name,
        "role": m.role,
        "lang": m.lang,
        "contacts": contacts,
    }


class Admin:
    """Administrators' actions over the stores and the running gateway's registry.

    `retarget` tells the running detectors about a patient's new targets (after the commit).
    """

    def __init__(
        self,
        stores: Stores,
        registry: DeviceRegistry,
        *,
        clock: Callable[[], datetime],
        retarget: Callable[[str, Targets], Awaitable[None]] | None = None,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.clock = clock
        self.retarget = retarget

    async def _commit(
        self,
        actor: Actor,
        at: datetime,
        action: str,
        subject: tuple[str, str],
        detail: Mapping[str, Any],
        write: Callable[[Transaction], Awaitable[object]],
    ) -> None:
        """The change and its audit entry, in one transaction."""
        entry = AuditEntry.by(actor, at, action, subject[0], subject[1], detail)
        async with self.stores.transaction() as tx:
            await write(tx)
            await self.stores.audit.append(entry, tx=tx)

    # -- patients -------------------------------------------------------------------------
    async def _patient(self, patient_id: str) -> Patient:
        p = await self.stores.patients.get_patient(patient_id)
        if p is None:
            raise NotFoundError("patient", patient_id)
        return p

    async def put_patient(self, actor: Actor, patient_id: str, details: PatientDetails) -> Patient:
        """Create the patient or replace its details (targets and creation time are kept)."""
        old = await self.stores.patients.get_patient(patient_id)
        at = self.clock()
        new = Patient(
            patient_id,
            details.tenant,
            old.created_at if old else at,
            name=details.name,
            birth_year=details.birth_year,
            lives_alone=details.lives_alone,
            disability=details.disability,
            care_team=details.care_team,
            targets=old.targets if old else {},
        )
        detail = {"before": _patient_doc(old), "after": _patient_doc(new)}

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_patient(new, tx=tx)

        await self._commit(actor, at, "put", ("patient", patient_id), detail, write)
        return new

    async def set_targets(
        self, actor: Actor, patient_id: str, overrides: Mapping[str, float]
    ) -> Patient:
        """Merge care-team overrides of alert limits into the patient's targets; the running
        detectors take them at once (open episodes keep running so they still resolve)."""
        old = await self._patient(patient_id)
        merged = {**old.targets, **overrides}
        try:
            targets = DEFAULT_TARGETS.with_overrides(merged)
        except TargetError as exc:
            raise InvalidError(str(exc), exc.fields) from exc
        new = replace(old, targets=merged)
        detail = {"before": dict(old.targets), "after": merged}

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_patient(new, tx=tx)

        await self._commit(
            actor, self.clock(), "set_targets", ("patient", patient_id), detail, write
        )
        if self.retarget is not None:
            await self.retarget(patient_id, targets)
        return new

    # -- devices --------------------------------------------------------------------------
    async def _save_device(
        self, actor: Actor, action: str, old: Device | None, new: Device
    ) -> Device:
        at = self.clock()
        detail = {"before": _device_doc(old), "after": _device_doc(new)}

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_device(new, at, tx=tx)

        await self._commit(actor, at, action, ("device", new.device_id), detail, write)
        self.registry.put(new)
        return new

    def _device(self, device_id: str) -> Device:
        d = self.registry.get(device_id)
        if d is None:
            raise NotFoundError("device", device_id)
        return d

    async def register_device(
        self,
        actor: Actor,
        device_id: str,
        tenant: str,
        kind: str,
        *,
        kiosk: bool = False,
        patient_id: str | None = None,
        since: datetime | None = None,
    ) -> Device:
        if device_id in self.registry:
            raise ConflictError(f"device {device_id!r} already registered")
        if reserved_name(device_id):
            raise InvalidError("this device name is reserved for the gateway", ("device_id",))
        if kind not in DEVICE_KINDS:
            raise InvalidError(f"unknown device kind {kind!r}", ("kind",))
        if kiosk and patient_id:
            raise InvalidError("a kiosk is shared: it has no patient binding", ("patient_id",))
        bindings = (Binding(patient_id, since or self.clock()),) if patient_id else ()
        try:
            dev = Device(device_id, tenant, kind, kiosk=kiosk, bindings=bindings)
        except ValueError as exc:
            raise InvalidError(str(exc), ("device_id",)) from exc
        return await self._save_device(actor, "register", None, dev)

    async def bind_device(
        self, actor: Actor, device_id: str, patient_id: str, since: datetime | None = None
    ) -> Device:
        """The device measures `patient_id` from `since` (default: now) on."""
        old = self._device(device_id)
        return await self._save_device(
            actor, "bind", old, old.bound_to(patient_id, since or self.clock())
        )

    async def retire_device(self, actor: Actor, device_id: str) -> Device:
        old = self._device(device_id)
        return await self._save_device(actor, "retire", old, old.retired(self.clock()))

    # -- rosters --------------------------------------------------------------------------
    async def put_member(self, actor: Actor, m: Member) -> Member:
        at = self.clock()

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.put_member(m, at, tx=tx)

        detail = {"value": {"member_id": m.member_id, **_member_doc(m)}}
        await self._commit(actor, at, "put", ("member", m.member_id), detail, write)
        return m

    async def put_team(self, actor: Actor, t: CareTeam) -> CareTeam:
        roster = await self.stores.rosters.roster(t.tenant)
        missing = [m for m in t.members if m not in roster.members]
        if missing:
            raise InvalidError(f"unknown member(s): {', '.join(missing)}", ("members",))
        at = self.clock()

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.put_team(t, at, tx=tx)

        detail = {"value": {**asdict(t), "members": list(t.members)}}
        await self._commit(actor, at, "put", ("team", t.team_id), detail, write)
        return t

    async def put_rotation(self, actor: Actor, r: Rotation) -> Rotation:
        at = self.clock()

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.put_rotation(r, at, tx=tx)

        value = {
            "tenant": r.tenant,
            "team_id": r.team_id,
            "members": list(r.members),
            "start": r.start.isoformat(),
            "shift_hours": r.shift.total_seconds() / 3600,
        }
        await self._commit(actor, at, "put", ("rotation", r.rotation_id), {"value": value}, write)
        return r

    async def delete_member(self, actor: Actor, member_id: str) -> None:
        await self._delete(actor, "member", member_id, self.stores.rosters.delete_member)

    async def delete_team(self, actor: Actor, team_id: str) -> None:
        await self._delete(actor, "team", team_id, self.stores.rosters.delete_team)

    async def delete_rotation(self, actor: Actor, rotation_id: str) -> None:
        await self._delete(actor, "rotation", rotation_id, self.stores.rosters.delete_rotation)

    async def _delete(
        self,
        actor: Actor,
        kind: str,
        key: str,
        remove: Callable[..., Awaitable[bool]],
    ) -> None:
        async def write(tx: Transaction) -> None:
            if not await remove(key, tx=tx):
                raise NotFoundError(kind, key)  # rolls the audit entry back too

        await self._commit(actor, self.clock(), "delete", (kind, key), {}, write)

    async def set_emergency_contacts(
        self, actor: Actor, patient_id: str, contacts: Sequence[EmergencyContact]
    ) -> list[Member]:
        """Replace the patient's emergency contacts, in calling order. They come back as roster
        members (`role` is the relation) with ids `ec:<patient>:<rank>`."""
        patient = await self._patient(patient_id)
        try:
            members = [
                Member(f"ec:{patient_id}:{i}", patient.tenant, c.name, c.relation, c.lang,
                       c.contacts)
                for i, c in enumerate(contacts)
            ]  # fmt: skip
        except ValueError as exc:
            raise InvalidError(str(exc), ("contacts",)) from exc
        detail = {"value": [{"member_id": m.member_id, **_member_doc(m)} for m in members]}

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.set_emergency_contacts(
                patient_id, patient.tenant, members, tx=tx
            )

        at = self.clock()
        await self._commit(actor, at, "put", ("emergency_contacts", patient_id), detail, write)
        return members
