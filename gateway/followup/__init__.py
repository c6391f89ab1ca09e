"""Chronic-disease follow-up by the family-doctor team: rules, the plan they make, the desk
that keeps plans up to date and escalates overdue follow-ups, and the FHIR `Task` export."""

from gateway.followup.desk import FollowupDesk, StepResult, team_lead
from gateway.followup.fhir import to_task
from gateway.followup.rules import UNCONTROLLED, FollowupRules, bp_uncontrolled, plan, to_escalate
from gateway.followup.settings import FollowupSettings

__all__ = [
    "UNCONTROLLED",
    "FollowupDesk",
    "FollowupRules",
    "FollowupSettings",
    "StepResult",
    "bp_uncontrolled",
    "plan",
    "team_lead",
    "to_escalate",
    "to_task",
]
