"""Results notice settings (`HMG_RESULTS_*`): the tenant's deadline and how visits are found.

`HMG_RESULTS_DEADLINE_DAYS` (default 30: one month) is the deployment's deadline for telling an
elder and family their results; `HMG_RESULTS_TENANTS` (JSON: tenant -> days, e.g.
`{"t-east": 0.5}`) sets a tenant's own, down to the same day. Notices go out through the
personal channels (SMS, e-mail): they are on by default when one of those is configured.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ResultsSettings"]


class ResultsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HMG_RESULTS_", extra="forbid")

    enabled: bool | None = None  # None: on when SMS or e-mail is configured
    deadline_days: float = Field(30.0, gt=0, le=366)
    tenants: dict[str, float] = Field(default_factory=dict)
    quiet_s: float = Field(600.0, ge=0)  # a visit is over after this long without a reading
    visit_gap_s: float = Field(1800.0, gt=0)  # readings further apart are separate visits
    interval_s: float = Field(60.0, gt=0)
    home_series_days: float = Field(7.0, gt=0)  # a home measurement series: one week
    home_min_readings: int = Field(3, ge=1)  # fewer home readings in the week: no notice
    max_backoff_s: float = Field(3600.0, gt=0)

    def deadline(self, tenant: str) -> timedelta:
        days = self.tenants.get(tenant, self.deadline_days)
        if not 0 < days <= 366:
            raise ValueError(f"results deadline of {tenant!r} must be in (0, 366] days")
        return timedelta(days=days)
