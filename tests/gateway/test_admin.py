"""Administrators' actions on a real SQLite file: each change is stored with its audit entry, a
refused or failed change leaves neither, and the running registry follows only stored changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.roster import CareTeam, Contact, Member
from alerts.targets import Targets
from devices.model import PatientKey
from devices.registry import DeviceRegistry
from gateway.actor import Actor, Role
from gateway.admin import Admin, EmergencyContact, PatientDetails
from gateway.errors import ConflictError, InvalidError, NotFoundError
from gateway.storage import Database, Stores

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ADMIN = Actor("admin.zhou", Role.ADMIN, "t1", "console@10.0.0.2")


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    await db.create_schema()
    yield Stores.of(db)
    await db.dispose()


def admin_of(stores: Stores, retargeted: list[tuple[str, Targets]] | None = None) -> Admin:
    async def retarget(patient: PatientKey, targets: Targets) -> None:
        if retargeted is not None:
            retargeted.append((patient.patient_id, targets))

    return Admin(stores, DeviceRegistry(), clock=lambda: T0, retarget=retarget)


async def test_patient_details_and_targets_audited_with_before_and_after(stores: Stores) -> None:
    told: list[tuple[str, Targets]] = []
    admin = admin_of(stores, told)
    await admin.put_patient(ADMIN, "p-1", PatientDetails(name="Wang", lives_alone=True))
    p = await admin.set_targets(ADMIN, "p-1", {"target_systolic": 150.0})
    assert dict(p.targets) == {"target_systolic": 150.0}
    again = await admin.put_patient(ADMIN, "p-1", PatientDetails(name="Wang Fang"))
    assert dict(again.targets) == {"target_systolic": 150.0}  # details keep the targets
    assert [pid for pid, _ in told] == ["p-1"]
    entries = await stores.audit.entries(subject_id="p-1")
    assert [(e.action, e.actor, e.role, e.tenant, e.client) for e in entries] == [
        ("put", "admin.zhou", Role.ADMIN, "t1", "console@10.0.0.2"),
        ("set_targets", "admin.zhou", Role.ADMIN, "t1", "console@10.0.0.2"),
        ("put", "admin.zhou", Role.ADMIN, "t1", "console@10.0.0.2"),
    ]
    assert entries[0].before is None
    assert entries[0].after is not None
    assert entries[0].after["name"] == "Wang"
    assert (entries[1].before, entries[1].after) == ({}, {"target_systolic": 150.0})
    assert entries[2].before is not None
    assert entries[2].before["name"] == "Wang"


async def test_refused_targets_change_nothing(stores: Stores) -> None:
    told: list[tuple[str, Targets]] = []
    admin = admin_of(stores, told)
    with pytest.raises(NotFoundError):
        await admin.set_targets(ADMIN, "p-9", {"target_systolic": 150.0})
    await admin.put_patient(ADMIN, "p-1", PatientDetails())
    with pytest.raises(InvalidError) as refused:
        await admin.set_targets(ADMIN, "p-1", {"target_systolic": 400.0})
    assert refused.value.fields == ("target_systolic",)
    p = await stores.patients.get_patient(PatientKey("t1", "p-1"))
    assert p is not None
    assert dict(p.targets) == {}
    assert told == []
    assert [e.action for e in await stores.audit.entries()] == ["put"]


async def test_devices_registered_rebound_retired_and_audited(stores: Stores) -> None:
    admin = admin_of(stores)
    for pid in ("p-1", "p-2"):
        await admin.put_patient(ADMIN, pid, PatientDetails())
    await admin.register_device(ADMIN, "cuff-1", "bp", patient_id="p-1", since=T0)
    with pytest.raises(ConflictError):
        await admin.register_device(ADMIN, "cuff-1", "bp")
    with pytest.raises(InvalidError):
        await admin.register_device(ADMIN, "x-1", "toaster")
    with pytest.raises(InvalidError):
        await admin.register_device(ADMIN, "k-1", "kiosk", kiosk=True, patient_id="p-1")
    later = T0 + timedelta(days=2)
    await admin.bind_device(ADMIN, "cuff-1", "p-2", later)
    retired = await admin.retire_device(ADMIN, "cuff-1")
    assert retired.retired_at == T0
    assert admin.registry.get("cuff-1") == retired
    (stored,) = await stores.patients.devices()
    assert stored == retired
    assert [b.patient_id for b in stored.bindings] == ["p-1", "p-2"]
    trail = await stores.audit.entries(subject_id="cuff-1")
    assert [e.action for e in trail] == ["register", "bind", "retire"]
    after = trail[1].after
    assert after is not None
    assert after["bindings"][-1] == ["p-2", later.isoformat()]
    with pytest.raises(NotFoundError):
        await admin.retire_device(ADMIN, "cuff-9")


async def test_roster_edits_and_a_failed_delete_leaves_no_audit_entry(stores: Stores) -> None:
    admin = admin_of(stores)
    li = Member("dr-li", "t1", "Dr Li", contacts=(Contact("sms", "+8613800000001"),))
    await admin.put_member(ADMIN, li)
    with pytest.raises(InvalidError):
        await admin.put_team(ADMIN, CareTeam("fd-1", "t1", "FD", members=("nobody",)))
    await admin.put_team(ADMIN, CareTeam("fd-1", "t1", "FD", members=("dr-li",)))
    with pytest.raises(NotFoundError):
        await admin.delete(ADMIN, "rotations", "oncall")
    with pytest.raises(NotFoundError):
        await admin.delete(ADMIN, "shifts", "x")
    await admin.delete(ADMIN, "teams", "fd-1")
    await admin.put_patient(ADMIN, "p-1", PatientDetails())
    daughter = EmergencyContact("Daughter", "daughter", "en", (Contact("sms", "+86-1"),))
    (saved,) = await admin.set_emergency_contacts(ADMIN, "p-1", [daughter])
    assert (saved.member_id, saved.role) == ("ec:p-1:0", "daughter")
    trail = [(e.action, e.subject_type) for e in await stores.audit.entries()]
    assert trail == [
        ("put", "member"),
        ("put", "team"),
        ("delete", "team"),
        ("put", "patient"),
        ("put", "emergency_contacts"),
    ]
    roster = await stores.rosters.roster("t1")
    assert roster.teams == {}
    assert roster.emergency_contacts["p-1"] == [saved]


OTHER = Actor("admin.wu", Role.ADMIN, "t2", "console@10.0.0.3")


async def test_another_tenants_objects_are_neither_seen_nor_changed(stores: Stores) -> None:
    admin = admin_of(stores)
    await admin.put_patient(ADMIN, "p-1", PatientDetails(name="Wang"))
    await admin.register_device(ADMIN, "cuff-1", "bp", patient_id="p-1", since=T0)
    await admin.put_member(ADMIN, Member("dr-li", "t1", "Dr Li"))
    with pytest.raises(NotFoundError):
        await admin.set_targets(OTHER, "p-1", {"target_systolic": 200.0})
    for act in (
        admin.retire_device(OTHER, "cuff-1"),
        admin.bind_device(OTHER, "cuff-1", "p-1"),
        admin.delete(OTHER, "members", "dr-li"),
        admin.set_emergency_contacts(OTHER, "p-1", []),
    ):
        with pytest.raises(NotFoundError):
            await act
    with pytest.raises(ConflictError):
        await admin.put_member(OTHER, Member("dr-li", "t2", "Impostor"))
    # A device of one's own tenant is never bound to another tenant's patient.
    await admin.register_device(OTHER, "cuff-2", "bp")
    with pytest.raises(InvalidError, match="no patient"):
        await admin.bind_device(OTHER, "cuff-2", "p-1")
    with pytest.raises(InvalidError, match="no patient"):
        await admin.register_device(OTHER, "cuff-3", "bp", patient_id="p-1")
    # The other tenant's own "p-1" is another elder: creating it changes nothing of t1's.
    theirs = await admin.put_patient(OTHER, "p-1", PatientDetails(name="Li"))
    await admin.set_targets(OTHER, "p-1", {"target_systolic": 150.0})
    p = await stores.patients.get_patient(PatientKey("t1", "p-1"))
    assert p is not None
    assert (p.tenant, p.name, dict(p.targets)) == ("t1", "Wang", {})
    assert theirs.key == PatientKey("t2", "p-1")
    roster = await stores.rosters.roster("t1")
    assert roster.members["dr-li"].name == "Dr Li"
    assert {e.actor for e in await stores.audit.entries()} == {"admin.zhou", "admin.wu"}
    by_wu = await stores.audit.entries(actor="admin.wu")
    assert sorted((e.tenant, e.subject_id) for e in by_wu) == [
        ("t2", "cuff-2"),
        ("t2", "p-1"),
        ("t2", "p-1"),
    ]
