"""Administrators' actions: patients and their alert targets, devices, rosters.

The same shape as the clinicians' actions (`gateway.flow.actions`): each method checks the request
against what is stored, computes the change with pure domain code, writes the change and its audit
entry in one transaction, and only then updates the running gateway (device registry, detector
targets). A failed write changes nothing, and nothing is changed without its audit entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from alerts.roster import CareTeam, Contact, Member, Rotation
from alerts.targets import DEFAULT_TARGETS, TargetError, Targets
from devices.kinds import Kind
from devices.model import PatientKey
from devices.registry import Binding, Device, DeviceRegistry
from gateway.actor import Actor
from gateway.errors import ConflictError, InvalidError, NotFoundError
from gateway.reserved import reserved_name
from gateway.storage import AuditEntry, Patient, Profile, Stores, Transaction
from gateway.storage.rosters import PARTS

# Kinds a device may be registered as (a kiosk measures several).
DEVICE_KINDS = frozenset({k.value for k in Kind} | {"kiosk"})


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """What an administrator sets on a patient (targets have their own action); the tenant is
    the administrator's own."""

    name: str | None = None
    birth_year: int | None = None
    lives_alone: bool = False
    disability: bool = False
    care_team: str | None = None
    profile: Profile = field(default_factory=Profile)


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
        **asdict(p.profile),
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


def tenant_device(registry: DeviceRegistry, actor: Actor, device_id: str) -> Device:
    """The device if it is registered to the actor's tenant: another tenant's is not found
    alike, so a caller cannot even learn that it exists."""
    d = registry.get(device_id)
    if d is None or d.tenant != actor.tenant:
        raise NotFoundError("device", device_id)
    return d


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
        retarget: Callable[[PatientKey, Targets], Awaitable[None]] | None = None,
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
        change: tuple[Mapping[str, Any] | None, Mapping[str, Any] | None],
        write: Callable[[Transaction], Awaitable[object]],
    ) -> None:
        """The change (the subject's state before and after it) and its audit entry, in one
        transaction."""
        before, after = change
        entry = AuditEntry.by(actor, at, action, subject[0], subject[1], before=before, after=after)
        async with self.stores.transaction() as tx:
            await write(tx)
            await self.stores.audit.append(entry, tx=tx)

    # -- patients -------------------------------------------------------------------------
    async def _patient(self, actor: Actor, patient_id: str) -> Patient:
        """The patient of the actor's tenant (another tenant's is not found)."""
        p = await self.stores.patients.get_patient(PatientKey(actor.tenant, patient_id))
        if p is None:
            raise NotFoundError("patient", patient_id)
        return p

    async def put_patient(self, actor: Actor, patient_id: str, details: PatientDetails) -> Patient:
        """Create the patient in the actor's tenant or replace its details (targets and creation
        time are kept). Patient ids are the tenant's own: another tenant may use the same id."""
        old = await self.stores.patients.get_patient(PatientKey(actor.tenant, patient_id))
        at = self.clock()
        new = Patient(
            patient_id,
            actor.tenant,
            old.created_at if old else at,
            name=details.name,
            birth_year=details.birth_year,
            lives_alone=details.lives_alone,
            disability=details.disability,
            care_team=details.care_team,
            targets=old.targets if old else {},
            profile=details.profile,
        )
        change = (_patient_doc(old), _patient_doc(new))

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_patient(new, tx=tx)

        await self._commit(actor, at, "put", ("patient", patient_id), change, write)
        self.registry.admit(patient_id, actor.tenant)
        return new

    async def set_targets(
        self, actor: Actor, patient_id: str, overrides: Mapping[str, float]
    ) -> Patient:
        """Merge care-team overrides of alert limits into the patient's targets; the running
        detectors take them at once (open episodes keep running so they still resolve)."""
        old = await self._patient(actor, patient_id)
        merged = {**old.targets, **overrides}
        try:
            targets = DEFAULT_TARGETS.with_overrides(merged)
        except TargetError as exc:
            raise InvalidError(str(exc), exc.fields) from exc
        new = replace(old, targets=merged)
        change = (dict(old.targets), merged)

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_patient(new, tx=tx)

        await self._commit(
            actor, self.clock(), "set_targets", ("patient", patient_id), change, write
        )
        if self.retarget is not None:
            await self.retarget(new.key, targets)
        return new

    # -- devices --------------------------------------------------------------------------
    async def _save_device(
        self, actor: Actor, action: str, old: Device | None, new: Device
    ) -> Device:
        at = self.clock()
        change = (_device_doc(old), _device_doc(new))

        async def write(tx: Transaction) -> None:
            await self.stores.patients.save_device(new, at, tx=tx)

        await self._commit(actor, at, action, ("device", new.device_id), change, write)
        self.registry.put(new)
        return new

    async def _bindable(self, actor: Actor, patient_id: str) -> None:
        """A device is bound only to an existing patient of the actor's own tenant."""
        p = await self.stores.patients.get_patient(PatientKey(actor.tenant, patient_id))
        if p is None:
            raise InvalidError(f"no patient {patient_id!r} in this tenant", ("patient_id",))

    async def register_device(
        self,
        actor: Actor,
        device_id: str,
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
        if patient_id:
            await self._bindable(actor, patient_id)
        bindings = (Binding(patient_id, since or self.clock()),) if patient_id else ()
        try:
            dev = Device(device_id, actor.tenant, kind, kiosk=kiosk, bindings=bindings)
        except ValueError as exc:
            raise InvalidError(str(exc), ("device_id",)) from exc
        return await self._save_device(actor, "register", None, dev)

    async def bind_device(
        self, actor: Actor, device_id: str, patient_id: str, since: datetime | None = None
    ) -> Device:
        """The device measures `patient_id` from `since` (default: now) on."""
        old = tenant_device(self.registry, actor, device_id)
        await self._bindable(actor, patient_id)
        return await self._save_device(
            actor, "bind", old, old.bound_to(patient_id, since or self.clock())
        )

    async def retire_device(self, actor: Actor, device_id: str) -> Device:
        old = tenant_device(self.registry, actor, device_id)
        return await self._save_device(actor, "retire", old, old.retired(self.clock()))

    # -- rosters --------------------------------------------------------------------------
    async def _own(self, actor: Actor, part: str, key: str) -> None:
        """A roster entry is written only by its own tenant; an id held by another tenant is
        refused without saying whose it is."""
        owner = await self.stores.rosters.tenant_of(part, key)
        if owner is not None and owner != actor.tenant:
            raise ConflictError(f"{part} id {key!r} is not available")

    async def put_member(self, actor: Actor, m: Member) -> Member:
        await self._own(actor, "members", m.member_id)
        at = self.clock()

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.put_member(m, at, tx=tx)

        after = {"member_id": m.member_id, **_member_doc(m)}
        await self._commit(actor, at, "put", ("member", m.member_id), (None, after), write)
        return m

    async def put_team(self, actor: Actor, t: CareTeam) -> CareTeam:
        await self._own(actor, "teams", t.team_id)
        roster = await self.stores.rosters.roster(t.tenant)
        missing = [m for m in t.members if m not in roster.members]
        if missing:
            raise InvalidError(f"unknown member(s): {', '.join(missing)}", ("members",))
        at = self.clock()

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.put_team(t, at, tx=tx)

        after = {**asdict(t), "members": list(t.members)}
        await self._commit(actor, at, "put", ("team", t.team_id), (None, after), write)
        return t

    async def put_rotation(self, actor: Actor, r: Rotation) -> Rotation:
        await self._own(actor, "rotations", r.rotation_id)
        roster = await self.stores.rosters.roster(actor.tenant)
        if r.team_id not in roster.teams:
            raise InvalidError(f"unknown team {r.team_id!r}", ("team_id",))
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
        await self._commit(actor, at, "put", ("rotation", r.rotation_id), (None, value), write)
        return r

    async def delete(self, actor: Actor, part: str, key: str) -> None:
        """Remove a roster entry (`part`: members, teams, rotations) of the actor's tenant."""
        if part not in PARTS:
            raise NotFoundError("roster part", part)

        async def write(tx: Transaction) -> None:
            if not await self.stores.rosters.delete(part, key, actor.tenant, tx=tx):
                raise NotFoundError(part.removesuffix("s"), key)  # rolls the audit entry back

        subject = (part.removesuffix("s"), key)
        await self._commit(actor, self.clock(), "delete", subject, (None, None), write)

    async def set_emergency_contacts(
        self, actor: Actor, patient_id: str, contacts: Sequence[EmergencyContact]
    ) -> list[Member]:
        """Replace the patient's emergency contacts, in calling order. They come back as roster
        members (`role` is the relation) with ids `ec:<patient>:<rank>`."""
        patient = await self._patient(actor, patient_id)
        try:
            members = [
                Member(f"ec:{patient_id}:{i}", patient.tenant, c.name, c.relation, c.lang,
                       c.contacts)
                for i, c in enumerate(contacts)
            ]  # fmt: skip
        except ValueError as exc:
            raise InvalidError(str(exc), ("contacts",)) from exc
        after = {"contacts": [{"member_id": m.member_id, **_member_doc(m)} for m in members]}

        async def write(tx: Transaction) -> None:
            await self.stores.rosters.set_emergency_contacts(patient.key, members, tx=tx)

        at = self.clock()
        subject = ("emergency_contacts", patient_id)
        await self._commit(actor, at, "put", subject, (None, after), write)
        return members
