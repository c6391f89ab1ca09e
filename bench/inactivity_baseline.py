"""The silent-home rule the gateway used before the hazard clock, kept as the evaluation's baseline.

One learned limit per elder: each day's longest quiet stretch in waking time (a usual night from
the median first and last reading), the 95th percentile of four weeks × 1.25, clamped to
2..16 waking hours. Status reports are not routed to it. `make eval-inactivity` runs it on the
same cohort next to the current detector (`alerts.detectors.inactivity`).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import ClassVar, Final

import numpy as np

from alerts.detectors.base import PatientContext
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

CODE: Final = "emergency.inactivity"
HISTORY_DAYS: Final = 28
MIN_DAYS: Final = 7
QUANTILE: Final = 0.95
MARGIN: Final = 1.25
MIN_NIGHT_H: Final = 4.0
MAX_NIGHT_H: Final = 14.0
DEFAULT_NIGHT: Final = (22.0, 6.0)  # local hours
DAY_START_H: Final = 3.0  # local days run from 03:00 to 03:00
# A reading this soon after the previous one does not end a quiet stretch worth measuring.
MIN_GAP: Final = timedelta(minutes=10)
HOUR: Final = timedelta(hours=1)
ZERO: Final = timedelta(0)
CEILING: Final = timedelta(hours=16)


def night_hours(last_h: float, first_h: float, offset_h: float) -> frozenset[int]:
    """UTC hours of the day wholly inside the local night from `last_h` to `first_h`."""
    length = (first_h - last_h) % 24
    if not MIN_NIGHT_H <= length <= MAX_NIGHT_H:
        last_h, first_h = DEFAULT_NIGHT
    start = math.ceil(last_h)
    n = math.floor(first_h) - start
    n = n % 24
    return frozenset(int((start + k - offset_h) % 24) for k in range(n))


def waking_time(start: datetime, end: datetime, rest: frozenset[int]) -> timedelta:
    """The part of [start, end) outside the rest hours (UTC hours of the day)."""
    if end <= start:
        return timedelta(0)
    if not rest:
        return end - start
    total = timedelta(0)
    t = start
    while t < end:
        nxt = min(end, t.replace(minute=0, second=0, microsecond=0) + HOUR)
        if t.hour not in rest:
            total += nxt - t
        t = nxt
    return total


def _circular_median(hours: list[float]) -> float:
    """Median of local hours of the day measured from the day start (03:00), as an hour."""
    shifted = sorted((h - DAY_START_H) % 24 for h in hours)
    return (float(np.median(shifted)) + DAY_START_H) % 24


class BaselineInactivityDetector:
    """The previous per-patient silent-home watch, with its own 16-waking-hour ceiling."""

    name: ClassVar[str] = "inactivity_baseline"
    kinds: ClassVar[frozenset[Kind]] = frozenset(set(Kind) - {Kind.STATUS})
    warm_up: ClassVar[str] = f"{MIN_DAYS} days of the elder's own activity"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self.last: datetime | None = None
        # local day -> first and last local hour of its readings
        self._days: dict[date, list[float]] = {}
        # quiet stretches (start, end) of at least MIN_GAP, by the local day they ended on
        self._gaps: dict[date, list[tuple[datetime, datetime]]] = {}
        self._rest: frozenset[int] = frozenset()
        self._threshold: timedelta | None = None
        self._learned_on: date | None = None
        self._raised_at: datetime | None = None

    def _local_day(self, t: datetime) -> tuple[date, float]:
        local = t + self.ctx.settings.local_utc_offset
        hour = local.hour + local.minute / 60 + local.second / 3600
        return (local - timedelta(hours=DAY_START_H)).date(), hour

    # -- learning -------------------------------------------------------------------------
    def update(self, reading: Reading) -> list[AlertCandidate]:
        t = reading.ts
        last = self.last
        if last is not None and t <= last:
            return []  # out of order: the quiet stretch it belonged to is already measured
        out: list[AlertCandidate] = []
        day, hour = self._local_day(t)
        rec = self._days.get(day)
        if rec is None:
            rec = self._days[day] = [hour, hour]
        rec[1] = hour
        if self._raised_at is not None:
            self._raised_at = None
            resumed = {"device_id": reading.device_id, "ts": format_ts(t)}
            out.append(
                AlertCandidate(
                    self.ctx.patient_id,
                    CODE,
                    t,
                    Action.CLEAR,
                    params={"outcome": "activity_resumed"},
                    evidence={"activity_resumed": resumed},
                )
            )
        elif last is not None and t - last >= MIN_GAP:
            self._gaps.setdefault(day, []).append((last, t))
        self.last = t
        if self._learned_on != day:
            self._learn(day)
        return out

    def _learn(self, today: date) -> None:
        """Once a day: forget old history, relearn the night and the threshold."""
        self._learned_on = today
        oldest = today - timedelta(days=HISTORY_DAYS)
        for d in [d for d in self._days if d < oldest]:
            del self._days[d]
            self._gaps.pop(d, None)
        complete = [d for d in self._days if d < today]
        days = [self._days[d] for d in complete]
        if len(days) < MIN_DAYS:
            self._threshold = None
            return
        s = self.ctx.settings
        offset_h = s.local_utc_offset.total_seconds() / 3600
        self._rest = night_hours(
            _circular_median([r[1] for r in days]), _circular_median([r[0] for r in days]), offset_h
        )
        longest = [
            max((waking_time(a, b, self._rest) for a, b in self._gaps.get(d, ())), default=ZERO)
            for d in complete
        ]
        seconds = float(np.quantile([g.total_seconds() for g in longest], QUANTILE)) * MARGIN
        usual = timedelta(seconds=seconds)
        self._threshold = min(max(usual, s.inactivity_floor), CEILING)

    # -- alarm ----------------------------------------------------------------------------
    @property
    def threshold(self) -> timedelta | None:
        """The learned quiet-period limit (waking time), None during warm-up."""
        return self._threshold

    @property
    def rest_hours(self) -> frozenset[int]:
        return self._rest

    def tick(self, now: datetime) -> list[AlertCandidate]:
        last, limit = self.last, self._threshold
        if (
            last is None
            or limit is None
            or self._raised_at is not None
            or "lives_alone" not in self.ctx.flags
            or now <= last
        ):
            return []
        rest = self._rest
        if self.ctx.settings.inactivity_night_alarm and last.hour not in rest:
            rest = frozenset()  # went silent while usually awake: the night counts too
        quiet = waking_time(last, now, rest)
        if quiet <= limit:
            return []
        self._raised_at = now
        return [
            AlertCandidate(
                self.ctx.patient_id,
                CODE,
                now,
                Action.RAISE,
                params={
                    "hours": (now - last).total_seconds() / 3600,
                    "usual_hours": limit.total_seconds() / 3600,
                },
                evidence={
                    "last_activity": format_ts(last),
                    "quiet_waking_hours": round(quiet.total_seconds() / 3600, 2),
                    "threshold_hours": round(limit.total_seconds() / 3600, 2),
                    "night_hours_utc": sorted(self._rest),
                },
            )
        ]
