"""A simulated 90-day cohort on virtual time: twenty elders, daily home BP, the follow-up desk
stepped once a day, the doctors doing some follow-ups on their due day and leaving others. The
tasks come out as the rules say, counted by rule, and every overdue one reaches the team lead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.roster import CareTeam, Member
from devices.kinds import Kind
from devices.model import Reading
from gateway.actor import Actor, Role
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.followups import FollowupStore, TaskState
from gateway.storage.patients import Patient, Profile
from tests.support.clock import VirtualClock

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
DAYS = 90
# group -> (elders, conditions, BP (systolic, diastolic) by day, doctors do routine follow-ups)
NORMAL, HIGH = (125.0, 80.0), (158.0, 96.0)
BP = Callable[[int], tuple[float, float]]
GROUPS: dict[str, tuple[int, str | None, BP, bool]] = {
    "H-done": (4, "高血压", lambda d: NORMAL, True),
    "H-late": (4, "hypertension", lambda d: NORMAL, False),
    "D-done": (3, "2型糖尿病", lambda d: NORMAL, True),
    "D-late": (2, "type 2 diabetes", lambda d: NORMAL, False),
    "HD-done": (2, "高血压，糖尿病", lambda d: NORMAL, True),
    "HU": (3, "hypertension", lambda d: HIGH, True),  # above target all the time
    "SHORT": (1, "", lambda d: HIGH if 40 <= d < 45 else NORMAL, True),  # five high days
    "NONE": (1, None, lambda d: NORMAL, True),
}


async def test_ninety_days_of_follow_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HMG_FOLLOWUP_ENABLED", "false")  # the test steps the desk itself
    clock = VirtualClock(T0)
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=clock)
    await gw.start(mqtt=False)
    await gw.stores.rosters.put_member(Member("m-lead", "t1", "Dr Li", role="lead"), T0)
    await gw.stores.rosters.put_member(Member("m-gp", "t1", "Dr Wu"), T0)
    await gw.stores.rosters.put_team(CareTeam("fd-1", "t1", "FD 1", members=("m-gp", "m-lead")), T0)
    elders: dict[str, str] = {}
    for group, (n, conditions, _, _) in GROUPS.items():
        for i in range(n):
            pid = f"{group}-{i}"
            elders[pid] = group
            profile = Profile(conditions=conditions)
            await gw.stores.patients.save_patient(
                Patient(pid, "t1", T0, care_team="fd-1", profile=profile)
            )
    doctor = Actor(user="dr.wu", role=Role.CLINICIAN, tenant="t1", client="tests")
    store = FollowupStore(gw.db)
    for day in range(DAYS + 1):
        clock.advance_to(T0 + timedelta(days=day))
        now = clock()
        readings = []
        for pid, group in elders.items():
            sys_, dia = GROUPS[group][2](day)
            readings.append(
                Reading("t1", f"cuff-{pid}", Kind.BP, day + 1, now - timedelta(hours=1), now,
                        pid, {"systolic": sys_, "diastolic": dia})
            )  # fmt: skip
        await gw.readings.write(readings)
        await gw.followups.step()
        for t in await store.query("t1", open_only=True):
            if GROUPS[elders[t.patient_id]][3] and t.rule.endswith(".routine") and t.due_at <= now:
                await gw.followups.complete(doctor, t.task_id, "seen at home")
    tasks = await store.query("t1")
    by_rule = Counter(t.rule for t in tasks)
    # Routine: done on time -> the next one is planned (2); never done -> 1, overdue.
    assert by_rule == {
        "hypertension.routine": 2 * 4 + 4 + 2 * 2 + 2 * 3,
        "type2_diabetes.routine": 2 * 3 + 2 + 2 * 2,
        "bp.uncontrolled": 3,  # HU only: five high days (SHORT) are not two weeks
    }
    assert not any(elders[t.patient_id] in ("SHORT", "NONE") for t in tasks)
    now = clock()
    overdue = [t for t in tasks if t.state(now) is TaskState.OVERDUE]
    assert sorted(elders[t.patient_id] for t in overdue) == sorted(
        ["H-late"] * 4 + ["D-late"] * 2 + ["HU"] * 3
    )
    assert all(t.escalated_to == "m-lead" and t.escalated_at is not None for t in overdue)
    first_due = T0 + timedelta(days=30)
    for t in tasks:
        if t.rule == "bp.uncontrolled":  # two weeks of readings on day 13, due 14 days later
            assert t.created_at == T0 + timedelta(days=13)
            assert t.due_at == T0 + timedelta(days=27)
        elif t.done_at is not None:
            assert (t.due_at, t.done_at) == (first_due, first_due)
        elif t.state(now) is TaskState.DUE:  # planned a quarter after the first was done
            assert t.due_at == first_due + timedelta(days=365 / 4)
    audit = Counter(e.action for e in await gw.stores.audit.entries(limit=5000))
    assert audit["followup.plan"] == len(tasks)
    assert audit["followup.escalate"] == 9
    assert audit["followup.done"] == 4 + 3 + 2 * 2 + 3  # HD-done: both conditions
    await gw.stop()
