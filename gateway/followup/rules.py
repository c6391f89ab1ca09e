"""Follow-up rules and the plan they make (pure: facts and time in, tasks out).

Default, as in China's national basic public-health service for chronic disease: an elder with
hypertension or type 2 diabetes is followed up by the family-doctor team at least four times a
year — each condition its own schedule (`hypertension.routine`, `type2_diabetes.routine`): the
first follow-up within 30 days of the plan starting, each next one a quarter (365/4 days) after
the previous was done. Sooner when readings are out of target: blood pressure above the elder's
target (mean systolic or diastolic) over two weeks of home readings → a follow-up within 14 days
(`bp.uncontrolled`), again only after another two weeks out of target since the last one was
done. A follow-up not done by its due date is overdue and goes to the team lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from alerts.targets import Targets
from gateway.fhir.problems import problems_of
from gateway.storage.followups import FollowupTask
from gateway.storage.patients import Patient
from gateway.storage.readings import ValueSummary

__all__ = [
    "BP_FIELDS",
    "UNCONTROLLED",
    "FollowupRules",
    "bp_uncontrolled",
    "plan",
    "routine_rule",
    "to_escalate",
]

UNCONTROLLED: Final = "bp.uncontrolled"
_NS: Final = uuid.UUID("2d0c1f6e-4b8a-4e59-8f0e-7c3a9b5d1e22")


def routine_rule(condition: str) -> str:
    return f"{condition}.routine"


@dataclass(frozen=True, slots=True)
class FollowupRules:
    """A tenant's follow-up rule (the defaults: the national chronic-disease service)."""

    per_year: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"hypertension": 4, "type2_diabetes": 4})
    )
    first_within_days: float = 30.0
    uncontrolled_days: float = 14.0
    uncontrolled_min_readings: int = 4
    followup_within_days: float = 14.0
    escalate_after_days: float = 0.0  # overdue this long before the team lead hears

    def __post_init__(self) -> None:
        if any(n < 1 or n > 52 for n in self.per_year.values()):
            raise ValueError("follow-ups a year must be between 1 and 52")
        if min(self.first_within_days, self.uncontrolled_days, self.followup_within_days) <= 0:
            raise ValueError("follow-up periods must be positive")

    def interval(self, condition: str) -> timedelta:
        return timedelta(days=365.0 / self.per_year[condition])


def _task(p: Patient, rule: str, reason: str, now: datetime, due: datetime) -> FollowupTask:
    key = f"{p.tenant}|{p.patient_id}|{rule}|{due.isoformat()}"
    return FollowupTask(
        f"fu-{uuid.uuid5(_NS, key)}", p.tenant, p.patient_id, rule, reason, now, due
    )


BP_FIELDS: Final = ("systolic", "diastolic")


def bp_uncontrolled(bp: ValueSummary, t: Targets, rules: FollowupRules, now: datetime) -> bool:
    """Home BP above target over the last `uncontrolled_days` (`bp` summarises that period):
    enough readings, spanning the period, whose mean systolic or diastolic is at or above the
    elder's target."""
    if bp.count < rules.uncontrolled_min_readings or bp.first is None:
        return False
    start = now - timedelta(days=rules.uncontrolled_days)
    if bp.first > start + timedelta(days=1):
        return False  # not two weeks of readings yet
    return bp.means["systolic"] >= t.target_systolic or bp.means["diastolic"] >= t.target_diastolic


def plan(
    p: Patient,
    tasks: Sequence[FollowupTask],
    bp: ValueSummary,
    targets: Targets,
    rules: FollowupRules,
    now: datetime,
) -> list[FollowupTask]:
    """The tasks to add for `p` now, given its tasks so far and its BP over the last
    `uncontrolled_days`."""
    conditions = {pr.known.key for pr in problems_of(p.profile.conditions) if pr.known}
    out: list[FollowupTask] = []
    for cond in rules.per_year:
        if cond not in conditions:
            continue
        rule = routine_rule(cond)
        mine = [t for t in tasks if t.rule == rule]
        if any(t.done_at is None for t in mine):
            continue
        done = [t.done_at for t in mine if t.done_at is not None]
        due = (
            max(done) + rules.interval(cond)
            if done
            else now + timedelta(days=rules.first_within_days)
        )
        n = rules.per_year[cond]
        out.append(_task(p, rule, f"{cond}: {n} follow-ups a year", now, due))
    if bp_uncontrolled(bp, targets, rules, now):
        since = now - timedelta(days=rules.uncontrolled_days)
        recent = [
            t for t in tasks
            if t.rule == UNCONTROLLED and (t.done_at is None or t.done_at > since)
        ]  # fmt: skip
        if not recent:
            reason = f"blood pressure above target for {rules.uncontrolled_days:g} days"
            due = now + timedelta(days=rules.followup_within_days)
            out.append(_task(p, UNCONTROLLED, reason, now, due))
    return out


def to_escalate(
    tasks: Sequence[FollowupTask], rules: FollowupRules, now: datetime
) -> list[FollowupTask]:
    """Open tasks overdue for `escalate_after_days` that the team lead has not been told of."""
    late = timedelta(days=rules.escalate_after_days)
    return [
        t for t in tasks
        if t.done_at is None and t.escalated_at is None and now > t.due_at + late
    ]  # fmt: skip
