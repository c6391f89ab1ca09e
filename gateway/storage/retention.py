"""Data lifecycle: how long each kind of data is kept, applied by a scheduled job.

Defaults (settings `HMG_RETENTION_*`, docs/storage.md): raw ECG chunks (and their derived beats)
30 days, vitals (BP, glucose, HR, SpO2, weight) 10 years, device status 90 days, dead letters
30 days. 0 keeps data forever. Alerts and their audit trail are part of the medical record and are
never deleted by this job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from devices.kinds import Kind
from gateway.storage.deadletters import DeadLetterStore
from gateway.storage.readings import ReadingStore

log = logging.getLogger(__name__)

VITALS = (Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2, Kind.WEIGHT)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days to keep per reading kind (absent or 0: forever) and for dead letters."""

    days: Mapping[Kind, float]
    deadletter_days: float = 0.0

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.days.values()) or self.deadletter_days < 0:
            raise ValueError("retention days must be >= 0")

    @classmethod
    def of(
        cls, *, ecg_days: float, vitals_days: float, status_days: float, deadletter_days: float
    ) -> RetentionPolicy:
        days = {Kind.ECG: ecg_days, Kind.STATUS: status_days}
        days.update(dict.fromkeys(VITALS, vitals_days))
        return cls(MappingProxyType(days), deadletter_days)


async def apply_retention(
    readings: ReadingStore, deadletters: DeadLetterStore, policy: RetentionPolicy, now: datetime
) -> dict[str, int]:
    """Delete everything past its retention; return what was removed per kind (-1: unknown)."""
    removed: dict[str, int] = {}
    for kind, days in policy.days.items():
        if days > 0:
            removed[kind.value] = await readings.delete_before(kind, now - timedelta(days=days))
    if policy.deadletter_days > 0:
        cutoff = now - timedelta(days=policy.deadletter_days)
        removed["deadletters"] = await deadletters.delete_before(cutoff)
    return removed


async def run_retention(
    readings: ReadingStore,
    deadletters: DeadLetterStore,
    policy: RetentionPolicy,
    *,
    interval_s: float,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    first_delay_s: float = 60.0,
) -> None:
    """Apply the policy `first_delay_s` after start (the service settles first), then every
    `interval_s`, until `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), min(first_delay_s, interval_s))
    while not stop.is_set():
        try:
            removed = await apply_retention(readings, deadletters, policy, clock())
            log.info("retention applied: %s", removed)
        except Exception:
            log.exception("retention run failed; will retry at the next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
