"""The urgent lane: which readings are urgent (at the patient's targets), and lanes that keep
each patient's readings together, in arrival order."""

from __future__ import annotations

from datetime import timedelta

from alerts.targets import DEFAULT_TARGETS
from alerts.urgency import is_urgent, split_lanes
from devices.kinds import Kind
from devices.model import Reading, utcnow

NOW = utcnow() - timedelta(minutes=2)


def reading(kind: Kind, patient: str, seq: int, **values: float) -> Reading:
    return Reading("t", f"d-{patient}", kind, seq, NOW, NOW, patient, values)


def test_urgency_and_lanes_keep_each_patients_readings_together() -> None:
    assert is_urgent(reading(Kind.BP, "a", 1, systolic=185.0, diastolic=100.0))
    assert not is_urgent(reading(Kind.BP, "a", 1, systolic=150.0, diastolic=95.0))
    assert is_urgent(reading(Kind.GLUCOSE, "a", 1, glucose=2.6))
    assert is_urgent(reading(Kind.SPO2, "a", 1, spo2=85.0))
    assert is_urgent(reading(Kind.HR, "a", 1, hr=35.0))
    assert not is_urgent(reading(Kind.HR, "a", 1, hr=110.0))
    low = DEFAULT_TARGETS.with_overrides({"crisis_systolic": 170.0})
    assert is_urgent(reading(Kind.BP, "a", 1, systolic=175.0, diastolic=90.0), low)
    rs = [
        reading(Kind.GLUCOSE, "b", 1, glucose=6.0),
        reading(Kind.HR, "a", 2, hr=70.0),
        reading(Kind.BP, "a", 3, systolic=200.0, diastolic=125.0),
        reading(Kind.GLUCOSE, "b", 4, glucose=6.1),
    ]
    lane, bulk = split_lanes(rs, is_urgent)
    assert [r.seq for r in lane] == [2, 3]
    assert [r.seq for r in bulk] == [1, 4]
    assert split_lanes(rs[:2], is_urgent) == ([], rs[:2])
