"""Who a tenant's escalation tiers reach: the tiers that would notify nobody.

A tier whose targets resolve to nobody is skipped in silence when an alert reaches it (the alert
waits out the tier's deadline for no one). This finds them before an alert does:

- a tenant gap: a tier that names no patient-specific target and reaches nobody at all (its
  teams are empty or gone, its rotation is gone), so every elder's alerts pass through it unheard;
- a patient gap: a tier of one elder's plan (context rules included, so the emergency-contact
  tier counts for an elder who lives alone) that reaches nobody for that elder, e.g.
  `patient:care_team` for an elder with no care team, or an elder without emergency contacts.

Pure: the caller loads the policy, the roster and the patients' context flags.

>>> from datetime import UTC, datetime
>>> from alerts.policy import parse_policy
>>> from alerts.roster import Roster
>>> policy = parse_policy({"schema": "hm.escalation-policy/1", "tenant": "t", "version": "1",
...     "tiers": [{"name": "gp", "targets": ["patient:care_team"], "deadlines": {"high": "5m"}}]})
>>> c = coverage(policy, Roster(), {"p-1": frozenset()}, datetime(2026, 1, 1, tzinfo=UTC))
>>> [(g.patient_id, g.tier_name) for g in c.patient_gaps]
[('p-1', 'gp')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from alerts.policy import EscalationPolicy, Tier
from alerts.roster import Roster

PATIENT_TARGET = "patient:"


@dataclass(frozen=True, slots=True)
class TierGap:
    """Tier `tier_name` (position `tier` in the plan) reaches nobody: for every elder when
    `patient_id` is None, else for that elder. `unresolved` are the targets that named nobody."""

    tier: int
    tier_name: str
    targets: tuple[str, ...]
    unresolved: tuple[str, ...]
    patient_id: str | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """The tenant's gaps, then each elder's (by patient id, then tier), under one policy."""

    policy_version: str
    tenant_gaps: tuple[TierGap, ...]
    patient_gaps: tuple[TierGap, ...]

    @property
    def ok(self) -> bool:
        return not self.tenant_gaps and not self.patient_gaps


def _unresolved(roster: Roster, tier: Tier, patient_id: str, now: datetime) -> tuple[str, ...]:
    return tuple(t for t in tier.targets if not roster.resolve([t], patient_id, now))


def _tenant_wide(tier: Tier) -> bool:
    return not any(t.startswith(PATIENT_TARGET) for t in tier.targets)


def coverage(
    policy: EscalationPolicy,
    roster: Roster,
    patients: Mapping[str, frozenset[str]],
    now: datetime,
) -> Coverage:
    """The tiers of `policy` that reach nobody at `now`; `patients` maps each elder of the
    tenant to its context flags (`lives_alone`, `disability`)."""
    tenant: list[TierGap] = []
    for i, tier in enumerate(policy.tiers):
        if _tenant_wide(tier) and not roster.resolve(tier.targets, "", now):
            tenant.append(TierGap(i, tier.name, tier.targets, _unresolved(roster, tier, "", now)))
    known = {g.tier_name for g in tenant}
    per_patient: list[TierGap] = []
    for pid in sorted(patients):
        plan = policy.plan_for(patients[pid])
        for i, tier in enumerate(plan.tiers):
            if tier.name in known or roster.resolve(tier.targets, pid, now):
                continue
            unresolved = _unresolved(roster, tier, pid, now)
            per_patient.append(TierGap(i, tier.name, tier.targets, unresolved, pid))
    return Coverage(policy.version, tuple(tenant), tuple(per_patient))
