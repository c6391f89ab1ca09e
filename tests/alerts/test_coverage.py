"""Escalation tiers that reach nobody, for the tenant and for single elders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.coverage import coverage
from alerts.policy import parse_policy_text
from alerts.roster import CareTeam, Contact, Member, Roster, Rotation

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
POLICY = parse_policy_text((REPO / "deploy" / "policies" / "demo.toml").read_text(), "toml")
SMS = (Contact("sms", "+8613800000001"),)


def full_roster(**patient_teams: str) -> Roster:
    members = {m: Member(m, "demo", m, contacts=SMS) for m in ("dr-a", "dr-b", "desk-120")}
    teams = {
        "gp-1": CareTeam("gp-1", "demo", "GP team 1", members=("dr-a",)),
        "emergency-120": CareTeam("emergency-120", "demo", "120", members=("desk-120",)),
        "city-hospital-referral": CareTeam("city-hospital-referral", "demo", "City", members=()),
    }
    rotation = Rotation("oncall-physicians", "demo", "gp-1", ("dr-a", "dr-b"), NOW - timedelta(1))
    return Roster(
        members=members,
        teams=teams,
        rotations={rotation.rotation_id: rotation},
        emergency_contacts={"p-alone": [Member("ec:p-alone:0", "demo", "Daughter", "family")]},
        patient_teams=dict(patient_teams),
    )


def test_a_complete_roster_has_no_gap_and_names_its_dead_targets_nowhere() -> None:
    roster = full_roster(**{"p-1": "gp-1", "p-alone": "gp-1"})
    found = coverage(
        POLICY, roster, {"p-1": frozenset(), "p-alone": frozenset({"lives_alone"})}, NOW
    )
    assert found.ok
    assert found.policy_version == POLICY.version


def test_an_elder_without_care_team_or_emergency_contact_is_a_patient_gap() -> None:
    roster = full_roster(**{"p-1": "gp-1"})
    flags = {"p-1": frozenset(), "p-none": frozenset(), "p-lonely": frozenset({"lives_alone"})}
    found = coverage(POLICY, roster, flags, NOW)
    assert found.tenant_gaps == ()
    gaps = {(g.patient_id, g.tier_name, g.unresolved) for g in found.patient_gaps}
    assert gaps == {
        ("p-none", "family_doctor", ("patient:care_team",)),
        ("p-lonely", "family_doctor", ("patient:care_team",)),
        # The emergency-contact tier is in the plan only for an elder who lives alone.
        (
            "p-lonely",
            POLICY.emergency_contact.name if POLICY.emergency_contact else "",
            ("patient:emergency_contact",),
        ),
    }


def test_a_tier_with_an_empty_team_and_no_rotation_is_a_tenant_gap_once() -> None:
    base = full_roster(**{"p-1": "gp-1"})
    teams = {k: v for k, v in base.teams.items() if k != "emergency-120"}
    roster = Roster(base.members, teams, {}, base.emergency_contacts, base.patient_teams)
    found = coverage(POLICY, roster, {"p-1": frozenset(), "p-2": frozenset()}, NOW)
    names = [(g.tier, g.tier_name, g.unresolved) for g in found.tenant_gaps]
    assert names == [
        (1, "on_call_physician", ("rotation:oncall-physicians",)),
        (2, "emergency", ("team:emergency-120", "team:city-hospital-referral")),
    ]
    # Not repeated per elder: only p-2's own gap (no care team) is listed.
    assert [(g.patient_id, g.tier_name) for g in found.patient_gaps] == [("p-2", "family_doctor")]
