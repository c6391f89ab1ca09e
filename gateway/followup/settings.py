"""Follow-up settings (`HMG_FOLLOWUP_*`): the deployment's default rule and each tenant's own.

`HMG_FOLLOWUP_TENANTS` is a JSON object of tenant -> fields of the rule to change, e.g.
`{"t-east": {"per_year": {"hypertension": 6}, "followup_within_days": 7}}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.followup.rules import FollowupRules

__all__ = ["FollowupSettings"]


class FollowupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HMG_FOLLOWUP_", extra="forbid")

    enabled: bool = True
    interval_s: float = Field(600.0, gt=0)  # how often plans are brought up to date
    per_year: dict[str, int] = Field(
        default_factory=lambda: {"hypertension": 4, "type2_diabetes": 4}
    )
    first_within_days: float = 30.0
    uncontrolled_days: float = 14.0
    uncontrolled_min_readings: int = 4
    followup_within_days: float = 14.0
    escalate_after_days: float = 0.0
    tenants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def rules_for(self, tenant: str) -> FollowupRules:
        base: dict[str, Any] = {
            "per_year": dict(self.per_year),
            "first_within_days": self.first_within_days,
            "uncontrolled_days": self.uncontrolled_days,
            "uncontrolled_min_readings": self.uncontrolled_min_readings,
            "followup_within_days": self.followup_within_days,
            "escalate_after_days": self.escalate_after_days,
        }
        return FollowupRules(**{**base, **self.tenants.get(tenant, {})})
