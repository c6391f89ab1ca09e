"""A silent home: an elder who lives alone sends nothing from any device for longer than usual.

`emergency.inactivity` is a wellness-check alert: someone should call or visit. It fires only for
patients whose record says they live alone (`PatientContext.flags` holds ``lives_alone``); anyone
else has someone at home to notice.

What counts as activity: any reading the elder makes or wears (a measurement, an ECG chunk, an
event), measured on the readings' own clock. Device status reports do not count: a pendant on its
charger reports its battery whether or not anyone is at home.

What is learned, per elder, from their own last `HISTORY_DAYS` days (a day runs from 03:00 to
03:00 on the deployment's local clock, `DetectorSettings.local_utc_offset`):
- the usual night: from the median time of the day's last reading to the median time of the next
  morning's first one. Quiet time inside it does not count, so nobody is alarmed for sleeping.
  With the policy's night alarm (`DetectorSettings.inactivity_night_alarm`) a silence that began
  while the elder is usually awake keeps counting through the night (someone silent since the
  afternoon may be on the floor), while one that began at night still waits for the morning.
  A night shorter than 4 h or longer than 14 h is not believed; 22:00-06:00 is used instead;
- the usual quiet period: each day's longest quiet stretch (waking time), and of those the
  `QUANTILE` (about the second longest of four weeks), with a `MARGIN`. Taking each day's longest
  stretch, not every gap between readings, matters: an elder whose watch reports every quarter
  of an hour but who leaves it off one day in six has a usual quiet period of a day without it;
- the threshold: that period clamped to `[inactivity_floor, inactivity_ceiling]`.

The floor (2 h by default) keeps ordinary absences, a nap, a walk or a visit to the market, from
sending someone to the door for elders whose devices report every few minutes. The ceiling
(16 waking hours) is one whole waking day without a sign of life: an elder who measures only
morning and evening goes 14-15 waking hours between readings every day, so a lower ceiling would
call on them daily, while a higher one would let a silent home go unnoticed into a second day.
Elders who measure that seldom are found within about a waking day; a daily check-in device or a
watch is what brings them closer.

Warm-up: `MIN_DAYS` days of history; before that the detector only learns. A quiet stretch that
raised an alert never enters the history (an ongoing anomaly must not become the baseline), and
the alert clears with the next activity.

>>> from datetime import UTC, datetime, timedelta
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> det = InactivityDetector(PatientContext("p1", flags=frozenset({"lives_alone"})))
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> for h in range(0, 24 * 14, 2):  # a reading every 2 h, day and night, for two weeks
...     t = t0 + timedelta(hours=h)
...     _ = det.update(Reading("t", "cuff", Kind.BP, h, t, t, "p1", {"systolic": 120.0}))
>>> det.threshold
datetime.timedelta(seconds=9000)
>>> det.tick(t + timedelta(hours=2.4)), det.tick(t + timedelta(hours=2.6))[0].code
([], 'emergency.inactivity')
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


class InactivityDetector:
    """Per-patient silent-home watch (wellness check) for elders who live alone."""

    name: ClassVar[str] = "inactivity"
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
        self._threshold = min(max(usual, s.inactivity_floor), s.inactivity_ceiling)

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
