"""Per-patient targets: guideline defaults, validated care-team overrides."""

from __future__ import annotations

import pytest

from alerts.targets import DEFAULT_TARGETS, TargetError


def test_defaults_follow_guidelines() -> None:
    t = DEFAULT_TARGETS
    assert (t.crisis_systolic, t.crisis_diastolic, t.hypotension_systolic) == (180, 120, 90)
    assert (t.glucose_urgent_low, t.glucose_low, t.glucose_high) == (3.0, 3.9, 13.9)
    assert t.predicted_low_horizon_min == 20


def test_frail_elder_bp_target_and_individual_glucose_range() -> None:
    t = DEFAULT_TARGETS.with_overrides({"target_systolic": 150, "target_diastolic": 90})
    assert t.target_systolic == 150.0
    assert t.overrides() == {"target_systolic": 150.0}
    g = DEFAULT_TARGETS.with_overrides({"glucose_low": 5.0, "glucose_high": 12})
    assert (g.glucose_low, g.glucose_high) == (5.0, 12.0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"target_systolic": "150"}, "target_systolic"),
        ({"target_systolic": True}, "target_systolic"),
        ({"glucose_low": 70}, "glucose_low"),  # typed in mg/dL
        ({"target_systolic": float("nan")}, "target_systolic"),
        ({"glucose_low": 2.9}, "glucose_urgent_low"),  # below the urgent limit
        ({"target_systolic": 185}, "target_systolic"),  # above the crisis limit
        ({"uncontrolled_min_count": 3.5}, "uncontrolled_min_count"),
    ],
)
def test_bad_overrides_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(TargetError) as info:
        DEFAULT_TARGETS.with_overrides(overrides)
    assert field in info.value.fields


def test_round_trip() -> None:
    t = DEFAULT_TARGETS.with_overrides({"cv_hr": 110})
    assert DEFAULT_TARGETS.with_overrides(t.overrides()) == t
