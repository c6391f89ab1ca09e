"""Policy parsing and the patient-context rules, on the documented example file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.model import Priority
from alerts.policy import PolicyError, QuietHours, parse_duration, parse_policy, parse_policy_text

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def test_example_policy_parses() -> None:
    p = parse_policy_text(example_text(), "toml")
    assert p.tenant == "demo"
    assert [t.name for t in p.tiers] == ["family_doctor", "on_call_physician", "emergency"]
    assert p.tiers[0].deadline(Priority.HIGH) == timedelta(minutes=10)
    assert p.tiers[2].deadline(Priority.MEDIUM) is None
    assert p.ack_silence[Priority.HIGH] == timedelta(minutes=30)
    assert p.repeat_interval == timedelta(minutes=10)


def test_plain_patient_follows_the_policy_tiers() -> None:
    plan = parse_policy_text(example_text(), "toml").plan_for(frozenset())
    assert [t.name for t in plan.tiers] == ["family_doctor", "on_call_physician", "emergency"]
    assert plan.next_tier(0, Priority.HIGH) == 1
    assert plan.next_tier(2, Priority.HIGH) is None
    # medium has no deadline at the emergency tier: it stops at the on-call physician.
    assert plan.next_tier(1, Priority.MEDIUM) == 2
    assert plan.deadline(2, Priority.MEDIUM) is None


def test_living_alone_shortens_deadlines_and_adds_emergency_contact() -> None:
    policy = parse_policy_text(example_text(), "toml")
    plan = policy.plan_for(frozenset({"lives_alone"}))
    assert [t.name for t in plan.tiers] == [
        "family_doctor",
        "emergency_contact",
        "on_call_physician",
        "emergency",
    ]
    assert plan.deadline(0, Priority.HIGH) == timedelta(minutes=5)
    assert plan.deadline(1, Priority.HIGH) == timedelta(minutes=2, seconds=30)
    both = policy.plan_for(frozenset({"lives_alone", "disability"}))
    assert both.deadline(0, Priority.HIGH) == timedelta(minutes=2, seconds=30)
    assert both.deadline(1, Priority.HIGH) == timedelta(seconds=75)
    floored = parse_policy_text(example_text().replace('"1m"', '"2m"', 1), "toml")
    assert floored.min_deadline == timedelta(minutes=2)
    assert floored.plan_for(frozenset({"lives_alone", "disability"})).deadline(
        1, Priority.HIGH
    ) == timedelta(minutes=2)


def test_yaml_and_json_give_the_same_policy() -> None:
    import json
    import tomllib

    doc = tomllib.loads(example_text())
    assert parse_policy_text(json.dumps(doc), "json") == parse_policy(doc)


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1.5d", 129600)]
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(tiers=[]), "tiers"),
        (lambda d: d["tiers"][0]["deadlines"].update(urgent="1m"), "tiers[0].deadlines"),
        (lambda d: d["tiers"][0]["deadlines"].update(high="soon"), "tiers[0].deadlines.high"),
        (lambda d: d["quiet_hours"].update(defer=["high"]), "quiet_hours.defer"),
        (lambda d: d["emergency_contact"].update(after_tier="nobody"), "after_tier"),
        (lambda d: d.update(schema="other/1"), "schema"),
        (lambda d: d["context"][0].update(when="rich"), "context.when"),
    ],
)
def test_bad_policies_say_where(mutate: object, where: str) -> None:
    import tomllib

    doc = tomllib.loads(example_text())
    assert callable(mutate)
    mutate(doc)
    with pytest.raises(PolicyError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(doc)


def test_quiet_hours_defer_only_low_and_medium() -> None:
    from datetime import time

    q = QuietHours(time(22), time(7), timedelta(hours=8))
    night = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 23:30 in UTC+8
    assert q.contains(night)
    assert q.defer_until(night, Priority.MEDIUM) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert q.defer_until(night, Priority.HIGH) == night
    day = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 local
    assert q.defer_until(day, Priority.LOW) == day


def test_min_confidence_is_parsed_and_checked() -> None:
    text = example_text() + '\n[min_confidence]\n"glucose.predicted_low" = 0.7\n'
    p = parse_policy_text(text, "toml")
    assert dict(p.min_confidence) == {"glucose.predicted_low": 0.7}
    assert p.confident("glucose.predicted_low", {"confidence": 0.7})
    assert not p.confident("glucose.predicted_low", {"confidence": 0.69})
    assert p.confident("glucose.predicted_low", {})  # states none: never held back
    assert p.confident("bp.hypertensive_crisis", {"confidence": 0.1})
    assert parse_policy_text(example_text(), "toml").min_confidence == {}
    with pytest.raises(PolicyError, match="min_confidence"):
        parse_policy_text(example_text() + '\n[min_confidence]\n"x" = 1.5\n', "toml")
    with pytest.raises(PolicyError, match="min_confidence"):
        parse_policy_text(example_text() + '\n[min_confidence]\n"x" = "high"\n', "toml")
