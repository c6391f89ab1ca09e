"""The gateway's jobs beside detection, built by `gateway.runtime.wiring.build` from the
runtime's parts: each takes only what it uses (the stores, the readings, the care-team targets,
the clock, the pipeline's `raise_now` for a technical alert), never the running gateway. Each
reads its own settings (`HMG_PLATFORM_*`, `HMG_FOLLOWUP_*`, `HMG_RESULTS_*`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.targets import Targets
from devices.model import PatientKey
from devices.registry import DeviceRegistry
from gateway.fhir.push import PlatformPush
from gateway.fhir.settings import PlatformSettings
from gateway.followup.desk import FollowupDesk
from gateway.followup.settings import FollowupSettings
from gateway.notifiers.base import Channel
from gateway.results.desk import ResultsDesk
from gateway.results.settings import ResultsSettings
from gateway.runtime.jobs import RaiseNow
from gateway.storage import ReadingStore, Stores
from gateway.storage.readings import ReadingFeed

__all__ = ["Services", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    """The record's push to the regional platform and the results notices (None when off),
    and the follow-up desk."""

    platform: PlatformPush | None
    followups: FollowupDesk
    results: ResultsDesk | None


def build_services(
    *,
    stores: Stores,
    readings: ReadingStore,
    feed: ReadingFeed,
    registry: DeviceRegistry,
    targets_for: Callable[[PatientKey], Targets],
    clock: Callable[[], datetime],
    raise_now: RaiseNow,
    personal: Sequence[Channel],
) -> Services:
    """The jobs over these parts; `personal` are the notification channels (SMS, e-mail) that
    reach people."""
    ps = PlatformSettings()
    platform = (
        PlatformPush(
            ps,
            stores=stores,
            readings=readings,
            feed=feed,
            targets_for=targets_for,
            clock=clock,
            raise_now=raise_now,
        )
        if ps.enabled  # HMG_PLATFORM_URL names the platform
        else None
    )
    followups = FollowupDesk(
        FollowupSettings(),
        stores=stores,
        readings=readings,
        targets_for=targets_for,
        clock=clock,
        raise_now=raise_now,
        personal=personal,
    )
    rs = ResultsSettings()
    # Notices go out through the personal channels: on by default when one is configured.
    on = rs.enabled if rs.enabled is not None else any(c.personal for c in personal)
    results = (
        ResultsDesk(
            rs,
            stores=stores,
            readings=readings,
            feed=feed,
            registry=registry,
            targets_for=targets_for,
            clock=clock,
            raise_now=raise_now,
            personal=personal,
        )
        if on
        else None
    )
    return Services(platform=platform, followups=followups, results=results)
