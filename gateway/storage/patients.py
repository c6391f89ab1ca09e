"""Patients and the devices that measure them (with each device's binding history)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import delete, insert, or_, select

from devices.model import PatientKey
from devices.registry import Binding, Device
from gateway.storage.database import Database, Transaction
from gateway.storage.tables import BindingRow, DeviceRow, PatientRow


@dataclass(frozen=True, slots=True)
class Profile:
    """What the care team records about an elder beyond the monitoring: free text, shown to the
    tenant's staff and, in an emergency, to the responder sent (`access_notes`: key safe, door
    code)."""

    sex: str | None = None
    conditions: str | None = None
    medications: str | None = None
    allergies: str | None = None
    address: str | None = None
    access_notes: str | None = None

    def __post_init__(self) -> None:
        if self.sex not in (None, "female", "male", "other"):
            raise ValueError("sex is female, male or other")


PROFILE_FIELDS = tuple(Profile.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Patient:
    """A monitored person. `lives_alone` and `disability` shape escalation; `targets` are the
    care team's overrides of alert limits (see `alerts.targets`)."""

    patient_id: str
    tenant: str
    created_at: datetime
    name: str | None = None
    birth_year: int | None = None
    lives_alone: bool = False
    disability: bool = False
    care_team: str | None = None
    targets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    profile: Profile = field(default_factory=Profile)

    def __post_init__(self) -> None:
        if not self.patient_id or not self.tenant:
            raise ValueError("a patient needs an id and a tenant")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    @property
    def key(self) -> PatientKey:
        return PatientKey(self.tenant, self.patient_id)

    @property
    def flags(self) -> frozenset[str]:
        """The context flags escalation policies read (`lives_alone`, `disability`)."""
        return frozenset(
            f
            for f, on in (("lives_alone", self.lives_alone), ("disability", self.disability))
            if on
        )


def _patient_of(r: PatientRow) -> Patient:
    return Patient(
        patient_id=r.patient_id,
        tenant=r.tenant,
        created_at=r.created_at,
        name=r.name,
        birth_year=r.birth_year,
        lives_alone=r.lives_alone,
        disability=r.disability,
        care_team=r.care_team,
        targets=MappingProxyType(dict(r.targets or {})),
        profile=Profile(**{f: getattr(r, f) for f in PROFILE_FIELDS}),
    )


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PatientStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- patients -------------------------------------------------------------------------
    async def save_patient(self, p: Patient, *, tx: Transaction | None = None) -> None:
        """Insert the patient or replace every field of the stored one."""
        async with self.db.writing(tx) as s:
            row = await s.get(PatientRow, (p.tenant, p.patient_id))
            if row is None:
                row = PatientRow(tenant=p.tenant, patient_id=p.patient_id)
                s.add(row)
            row.created_at, row.name = p.created_at, p.name
            row.birth_year, row.lives_alone, row.disability = (
                p.birth_year, p.lives_alone, p.disability,
            )  # fmt: skip
            row.care_team, row.targets = p.care_team, dict(p.targets)
            for f in PROFILE_FIELDS:
                setattr(row, f, getattr(p.profile, f))

    async def get_patient(self, key: PatientKey) -> Patient | None:
        """The patient with this tenant and id (another tenant's same id is someone else)."""
        async with self.db.session() as s:
            row = await s.get(PatientRow, (key.tenant, key.patient_id))
        return None if row is None else _patient_of(row)

    async def patients(
        self,
        tenant: str | None = None,
        *,
        after: str | None = None,
        limit: int | None = None,
        search: str | None = None,
        teams: Sequence[str] = (),
    ) -> list[Patient]:
        """By patient id (of one tenant, or all when None), those after `after`, at most
        `limit`. `search` keeps those whose name, id, recorded conditions or care team contain
        it (any case), or whose care team is one of `teams` (the teams whose name matched)."""
        stmt = select(PatientRow).order_by(PatientRow.patient_id, PatientRow.tenant)
        if tenant is not None:
            stmt = stmt.where(PatientRow.tenant == tenant)
        if search:
            like = f"%{escape_like(search)}%"
            cols = (
                PatientRow.name,
                PatientRow.patient_id,
                PatientRow.conditions,
                PatientRow.care_team,
            )
            matches = [c.ilike(like, escape="\\") for c in cols]
            if teams:
                matches.append(PatientRow.care_team.in_(list(teams)))
            stmt = stmt.where(or_(*matches))
        if after is not None:
            stmt = stmt.where(PatientRow.patient_id > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.db.session() as s:
            return [_patient_of(r) for r in (await s.scalars(stmt)).all()]

    # -- devices --------------------------------------------------------------------------
    async def save_device(
        self, device: Device, now: datetime, *, tx: Transaction | None = None
    ) -> None:
        """Insert or replace a device and its binding history; binds create missing patients
        (in the device's tenant)."""
        async with self.db.writing(tx) as s:
            row = await s.get(DeviceRow, device.device_id)
            if row is None:
                row = DeviceRow(device_id=device.device_id, created_at=now)
                s.add(row)
            row.tenant, row.kind, row.kiosk = device.tenant, device.kind, device.kiosk
            row.retired_at = device.retired_at
            await s.flush()
            stmt = select(BindingRow).where(BindingRow.device_id == device.device_id)
            for old in (await s.scalars(stmt)).all():
                await s.delete(old)
            for pid in dict.fromkeys(b.patient_id for b in device.bindings):
                if await s.get(PatientRow, (device.tenant, pid)) is None:
                    s.add(
                        PatientRow(tenant=device.tenant, patient_id=pid, created_at=now, targets={})
                    )
            await s.flush()  # the patients before the bindings that refer to them
            for b in device.bindings:
                s.add(
                    BindingRow(
                        device_id=device.device_id,
                        tenant=device.tenant,
                        patient_id=b.patient_id,
                        since=b.since,
                    )
                )

    async def save_devices(
        self, devices: Sequence[Device], now: datetime, *, tx: Transaction | None = None
    ) -> None:
        """`save_device` for many devices in one transaction and a few set-wise statements (the
        first arrival of a whole cohort registers in one go, not one commit per device)."""
        by_id = {d.device_id: d for d in devices}  # the last state of a device wins
        if not by_id:
            return
        ids = list(by_id)
        async with self.db.writing(tx) as s:
            rows = (await s.scalars(select(DeviceRow).where(DeviceRow.device_id.in_(ids)))).all()
            known = {r.device_id: r for r in rows}
            for row in rows:
                d = by_id[row.device_id]
                row.tenant, row.kind, row.kiosk = d.tenant, d.kind, d.kiosk
                row.retired_at = d.retired_at
            fresh = [
                {"device_id": d.device_id, "tenant": d.tenant, "kind": d.kind,
                 "kiosk": d.kiosk, "retired_at": d.retired_at, "created_at": now}
                for d in by_id.values() if d.device_id not in known
            ]  # fmt: skip
            if fresh:
                await s.execute(insert(DeviceRow), fresh)
            if known:
                await s.execute(delete(BindingRow).where(BindingRow.device_id.in_(list(known))))
            binds = [
                {"device_id": d.device_id, "tenant": d.tenant, "patient_id": b.patient_id,
                 "since": b.since}
                for d in by_id.values()
                for b in d.bindings
            ]  # fmt: skip
            if not binds:
                return
            named = {(str(b["tenant"]), str(b["patient_id"])) for b in binds}
            stmt = select(PatientRow.tenant, PatientRow.patient_id).where(
                PatientRow.patient_id.in_({pid for _, pid in named})
            )
            have = {(t, pid) for t, pid in (await s.execute(stmt)).all()}
            missing = [
                {"patient_id": pid, "tenant": tenant, "created_at": now, "targets": {},
                 "lives_alone": False, "disability": False}
                for tenant, pid in sorted(named - have)
            ]  # fmt: skip
            if missing:  # the patients before the bindings that refer to them
                await s.execute(insert(PatientRow), missing)
            await s.execute(insert(BindingRow), binds)

    async def devices(self) -> list[Device]:
        """Every device with its bindings in time order (the registry is loaded from these)."""
        async with self.db.session() as s:
            rows = (await s.scalars(select(DeviceRow))).all()
            binds = (await s.scalars(select(BindingRow).order_by(BindingRow.since))).all()
        by_dev: dict[str, list[Binding]] = {}
        for b in binds:
            by_dev.setdefault(b.device_id, []).append(Binding(b.patient_id, b.since))
        return [
            Device(
                r.device_id,
                r.tenant,
                r.kind,
                kiosk=r.kiosk,
                retired_at=r.retired_at,
                bindings=tuple(by_dev.get(r.device_id, ())),
            )
            for r in rows
        ]
