"""The gateway's jobs beside detection, built by `gateway.runtime.wiring.build` from the
runtime's parts (`gateway.runtime.jobs.JobParts`: the stores, the readings, the care-team
targets, the clock, the pipeline's `raise_now` for a technical alert), never the running
gateway. Each reads its own settings (`HMG_PLATFORM_*`, `HMG_FOLLOWUP_*`, `HMG_RESULTS_*`)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.fhir.push import PlatformPush
from gateway.fhir.settings import PlatformSettings
from gateway.followup.desk import FollowupDesk
from gateway.followup.settings import FollowupSettings
from gateway.results.desk import ResultsDesk
from gateway.results.settings import ResultsSettings
from gateway.runtime.jobs import JobParts

__all__ = ["Services", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    """The record's push to the regional platform and the results notices (None when off),
    and the follow-up desk."""

    platform: PlatformPush | None
    followups: FollowupDesk
    results: ResultsDesk | None


def build_services(parts: JobParts) -> Services:
    """The jobs over the runtime's `parts`."""
    ps = PlatformSettings()
    platform = PlatformPush(ps, parts) if ps.enabled else None  # HMG_PLATFORM_URL names it
    rs = ResultsSettings()
    # Notices go out through the personal channels: on by default when one is configured.
    on = rs.enabled if rs.enabled is not None else any(c.personal for c in parts.personal)
    return Services(
        platform=platform,
        followups=FollowupDesk(FollowupSettings(), parts),
        results=ResultsDesk(rs, parts) if on else None,
    )
