"""A gateway holding one elder's record: profile, a cuff and a glucometer, readings (one in
hypertensive crisis, so an alert is open) and a family-doctor team."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.roster import CareTeam, Member
from devices.registry import Binding, Device
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.storage.patients import Patient, Profile
from tests.support.wire import v1

PROFILE = Profile(
    sex="female",
    conditions="高血压, type 2 diabetes; gout",
    medications="amlodipine 5 mg daily",
    allergies=None,
    address="幸福路 1 号",
)


async def seed_record(
    gw: Gateway, now: datetime, patient_id: str = "p-1", tenant: str = "t1", readings: int = 3
) -> None:
    """`readings` BP readings a day apart ending at `now` (the last in crisis) and one glucose."""
    since = now - timedelta(days=max(30, readings + 1))
    await gw.stores.patients.save_patient(
        Patient(patient_id, tenant, since, name="王芳", birth_year=1948, care_team="fd-1",
                profile=PROFILE)
    )  # fmt: skip
    await gw.stores.rosters.put_member(Member("m-lead", tenant, "Dr Li", role="lead"), now)
    await gw.stores.rosters.put_member(Member("m-2", tenant, "Nurse Zhao"), now)
    await gw.stores.rosters.put_team(
        CareTeam("fd-1", tenant, "Family doctors 1", members=("m-lead", "m-2")), now
    )
    for dev in (
        Device(f"cuff-{patient_id}", tenant, "bp", bindings=(Binding(patient_id, since),)),
        Device(f"glu-{patient_id}", tenant, "glucose", bindings=(Binding(patient_id, since),)),
    ):
        await gw.stores.patients.save_device(dev, now)
        gw.registry.put(dev)
    batch = []
    for i in range(readings):
        ts = now - timedelta(days=readings - 1 - i)
        crisis = i == readings - 1
        bp = {"systolic": 185 if crisis else 128, "diastolic": 122 if crisis else 82,
              "pulse": 70, "unit": "mmHg"}  # fmt: skip
        topic = f"hm/v1/{tenant}/cuff-{patient_id}/bp"
        batch.append(Inbound(topic, v1(f"cuff-{patient_id}", "bp", i + 1, bp, ts), now))
    glucose = {"value": 6.1, "unit": "mmol/L", "source": "fingerstick", "context": "fasting"}
    batch.append(
        Inbound(
            f"hm/v1/{tenant}/glu-{patient_id}/glucose",
            v1(f"glu-{patient_id}", "glucose", 1, glucose, now - timedelta(hours=1)),
            now,
        )
    )
    await gw.pipeline.handle(batch)
