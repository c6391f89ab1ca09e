"""Patients and devices with their binding history, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from devices.model import PatientKey
from devices.registry import Binding, Device
from gateway.storage import Patient, Stores
from tests.gateway.storage.helpers import T0


async def test_patients_saved_replaced_and_listed_by_tenant(stores: Stores) -> None:
    store = stores.patients
    wang = Patient("p-2", "t1", T0, name="王芳", birth_year=1941)
    await store.save_patient(wang)
    await store.save_patient(Patient("p-1", "t2", T0, lives_alone=True))
    await store.save_patient(replace(wang, targets={"target_systolic": 150.0}))
    p2 = await store.get_patient(PatientKey("t1", "p-2"))
    assert p2 is not None
    assert (p2.name, p2.birth_year, dict(p2.targets)) == ("王芳", 1941, {"target_systolic": 150.0})
    assert p2.created_at == T0
    assert [p.patient_id for p in await store.patients()] == ["p-1", "p-2"]
    assert [p.patient_id for p in await store.patients("t2")] == ["p-1"]
    assert (await store.patients("t2"))[0].flags == frozenset({"lives_alone"})
    assert await store.get_patient(PatientKey("t2", "p-2")) is None  # another tenant's patient
    assert p2.key == PatientKey("t1", "p-2")


async def test_devices_and_binding_history(stores: Stores) -> None:
    store = stores.patients
    cuff = Device(
        "cuff-1",
        "t1",
        "bp",
        bindings=(Binding("p-1", T0), Binding("p-2", T0 + timedelta(days=3))),
    )
    await store.save_device(cuff, T0)
    await store.save_device(Device("kiosk-1", "t1", "bp", kiosk=True), T0)
    loaded = {d.device_id: d for d in await store.devices()}
    assert loaded["cuff-1"].bindings == cuff.bindings
    assert loaded["kiosk-1"].kiosk
    assert {p.patient_id for p in await store.patients()} == {"p-1", "p-2"}
    retired = Device(
        "cuff-1", "t1", "bp", retired_at=T0 + timedelta(days=9), bindings=(Binding("p-2", T0),)
    )
    await store.save_device(retired, T0)
    again = {d.device_id: d for d in await store.devices()}
    assert again["cuff-1"].retired_at == T0 + timedelta(days=9)
    assert again["cuff-1"].bindings == (Binding("p-2", T0),)


async def test_many_devices_register_in_one_call_like_one_by_one(stores: Stores) -> None:
    """A cohort's first arrival: new devices with their patients, and a known device replaced
    (its bindings too), all in one call; the result is what `save_device` one by one gives."""
    store = stores.patients
    await store.save_patient(Patient("p-0", "t1", T0, name="known"))
    await store.save_device(Device("cuff-0", "t1", "bp", bindings=(Binding("p-x", T0),)), T0)
    cohort = [
        Device(f"cuff-{i}", "t1", "bp", bindings=(Binding(f"p-{i}", T0 + timedelta(days=1)),))
        for i in range(300)
    ]
    cohort.append(Device("kiosk-1", "t1", "kiosk", kiosk=True))
    await store.save_devices(cohort, T0 + timedelta(days=1))
    loaded = {d.device_id: d for d in await store.devices()}
    assert len(loaded) == 301
    assert loaded["cuff-0"].bindings == (Binding("p-0", T0 + timedelta(days=1)),)
    assert loaded["cuff-299"] == cohort[299]
    assert loaded["kiosk-1"].kiosk
    assert loaded["kiosk-1"].bindings == ()
    patients = {p.patient_id: p for p in await store.patients()}
    assert set(patients) == {"p-x", *(f"p-{i}" for i in range(300))}
    assert patients["p-0"].name == "known"  # an existing patient is left as it was
    assert patients["p-7"].tenant == "t1"
    await store.save_devices([], T0)  # nothing to do
