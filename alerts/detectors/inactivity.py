"""A silent home: an elder who lives alone does nothing any device notices for longer than usual.

`emergency.inactivity` is a wellness-check alert: someone should call or visit. It fires only for
patients whose record says they live alone (`PatientContext.flags` holds ``lives_alone``); anyone
else has someone at home to notice.

Signals. Activity is anything the elder does that a device sees: a measurement or an ECG chunk
from their own devices or at a community kiosk, an event (an SOS, a fall, a cancel, and the home
kit's `motion` and `door` events), and a device being put on or taken off (a status report whose
`lead_off` differs from that device's previous one). Every other status report is a heartbeat: it
says nothing about the elder, but it carries the clock, so a silent home is found on the
heartbeats' time as well as on the gateway's ticks. All on the readings' own clock.

What is learned, per elder, from their own last `HISTORY_DAYS` days (local days from 03:00,
`DetectorSettings.local_utc_offset`), once a day:
- the daily pattern: for each hour of the day the share of days with any activity, as a hazard
  clock (`alerts.detectors.activity_profile`). A quiet stretch is measured on that clock: an hour
  they are nearly always active in weighs about 4, an hour of their usual night almost nothing,
  so nobody is alarmed for sleeping, and a walk at the hour they usually walk costs little;
- what the elder was doing when a quiet stretch began, its state: `door` (the front door: an
  outing, measured in waking hours, since home habits say nothing about it), `night` (on the
  evening side of the day with little activity usual in the next 2 h: going to bed), `busy`
  (at least 3 activities in the hour before: a worn watch, moving about the house) or `quiet`
  (a lone reading: a sparse elder, or a watch left off that day, measured on a clock of the
  hours the elder's lone readings usually come in, so mid-day silence after a morning reading
  costs little). Per state, each day's longest quiet stretch, and from those the length that a
  share `inactivity_tail` of days exceed (`tail_threshold`: the empirical quantile, extended by
  an exponential tail). After a watch's heart rate the elder is usually heard from again within
  minutes, after the front door within an outing, after the evening BP only the next morning:
  each state has its own limit. A state seen on fewer than `MIN_STATE_DAYS` days uses the limit
  of all states together;
- the usual night, from the median times of the day's first and last activity (a night shorter
  than 4 h or longer than 14 h is not believed, 22:00-06:00 is used instead), for the bounds.

The wellness check falls due when the quiet stretch since the last activity reaches the limit of
the state that activity left the elder in (`due`, the expected-next-activity deadline, computed
once per quiet stretch), but never before `inactivity_floor` (2 h: a nap, a walk, the market)
and never later than `inactivity_ceiling` waking hours (20 by default). The ceiling is what
decides for elders who measure only morning and evening: they miss the evening reading on about
one day in three, so a ceiling of one waking day (16 h) calls on them every few weeks for
nothing, while 20 h finds them the next morning or midday; `make eval-inactivity` sweeps it with
the tail, and 20 h with a tail of 0.005 is what cross-validation chose. With
the policy's night alarm (`inactivity_night_alarm`) a silence that began while the elder is
usually awake counts night hours at the elder's usual waking rate; one that began at night
still waits for the morning.

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
>>> due = det.due()  # a 2-h rhythm every day: two weeks say little of how rare 3 h would be
>>> due is not None and round((due - t) / timedelta(hours=1), 1)
6.4
>>> det.tick(due - timedelta(minutes=1)), det.tick(due)[0].code
([], 'emergency.inactivity')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt

from alerts.detectors.activity_profile import (
    SLOTS,
    HazardClock,
    after_waking,
    local_hours,
    tail_threshold,
    waking_between,
)
from alerts.detectors.base import PatientContext
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

CODE: Final = "emergency.inactivity"
HISTORY_DAYS: Final = 28
MIN_DAYS: Final = 7
MIN_STATE_DAYS: Final = 5
BUSY_WINDOW_H: Final = 1.0
BUSY_COUNT: Final = 3  # activities within the hour before a quiet stretch: the elder was busy
BUSY, QUIET, DOOR, NIGHT = "busy", "quiet", "door", "night"
NIGHT_AHEAD_H: Final = 2.0
NIGHT_SHARE: Final = 0.5
MIN_NIGHT_H: Final = 4.0
MAX_NIGHT_H: Final = 14.0
DEFAULT_NIGHT: Final = (22.0, 6.0)  # local hours
DAY_START_H: Final = 3.0  # local days run from 03:00 to 03:00
# A quiet stretch shorter than this is not worth remembering (its day's longest is longer).
MIN_GAP_H: Final = 1 / 6
# After the front door an outing is measured in waking hours: home habits say nothing about it
# (the usual night still counts this little: the door locked at bedtime is no outing).
NIGHT_HAZARD: Final = 0.02


def night_hours(last_h: float, first_h: float) -> frozenset[int]:
    """Local hours of the day wholly inside the night from `last_h` to `first_h`."""
    length = (first_h - last_h) % 24
    if not MIN_NIGHT_H <= length <= MAX_NIGHT_H:
        last_h, first_h = DEFAULT_NIGHT
    start = math.ceil(last_h)
    n = (math.floor(first_h) - start) % 24
    return frozenset(int((start + k) % 24) for k in range(n))


def _evening(u: float, m: Learned | None) -> bool:
    """Local hour `u` is on the evening side of the day (noon to 03:00) and the next
    `NIGHT_AHEAD_H` hours usually hold less than `NIGHT_SHARE` of a waking stretch's activity:
    what follows is the night."""
    if m is None:
        return False
    hour = math.floor(u) % SLOTS
    ahead = m.clocks[BUSY].length(u, u + NIGHT_AHEAD_H)
    return (hour >= 12 or hour < DAY_START_H) and ahead < NIGHT_SHARE * NIGHT_AHEAD_H * m.awake


def _circular_median(hours: list[float]) -> float:
    """Median of local hours of the day measured from the day start (03:00), as an hour."""
    shifted = sorted((h - DAY_START_H) % 24 for h in hours)
    return (float(np.median(shifted)) + DAY_START_H) % 24


@dataclass(frozen=True, slots=True)
class Learned:
    """What one day's learning gives: the hazard clock, limits by source, the usual night."""

    clocks: dict[str, HazardClock]  # by the state a quiet stretch began in
    night_clocks: dict[str, HazardClock]  # night hours at the usual waking rate (night alarm)
    limits: dict[str, tuple[HazardClock, float]]  # state -> its clock and limit (hazard units)
    pooled: tuple[HazardClock, float]  # all states together, on the clock of all activity
    rest: frozenset[int]  # local hours of the usual night
    awake: float  # the median hazard of a waking hour


class InactivityDetector:
    """Per-patient silent-home watch (wellness check) for elders who live alone."""

    name: ClassVar[str] = "inactivity"
    kinds: ClassVar[frozenset[Kind]] = frozenset(Kind)
    warm_up: ClassVar[str] = f"{MIN_DAYS} days of the elder's own activity"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self.last: datetime | None = None
        self.last_device = ""
        self.last_state = QUIET
        # local hours of the last BUSY_COUNT activities (bounded: an ECG patch sends every second)
        self._recent: list[float] = []
        self._worn: dict[str, object] = {}  # device -> its last `lead_off`
        # local day number -> activity per local hour; first and last activity (local hours)
        self._hours: dict[int, npt.NDArray[np.bool_]] = {}
        self._span: dict[int, list[float]] = {}
        # quiet stretches of at least MIN_GAP_H: (start, end) local hours and the state they
        # began in, by the local day they began on; the states seen each day
        self._gaps: dict[int, list[tuple[float, float, str]]] = {}
        self._states: dict[int, set[str]] = {}
        self._model: Learned | None = None
        self._learned_on: int | None = None
        self._due: datetime | None = None
        self._raised_at: datetime | None = None

    def _u(self, t: datetime) -> float:
        return local_hours(t, self.ctx.settings.local_utc_offset)

    def _t(self, u: float) -> datetime:
        offset = self.ctx.settings.local_utc_offset.total_seconds()
        return datetime.fromtimestamp(u * 3600.0 - offset, UTC)

    @staticmethod
    def _day(u: float) -> int:
        return math.floor((u - DAY_START_H) / 24)

    def _is_activity(self, reading: Reading) -> bool:
        if reading.kind is not Kind.STATUS:
            return True
        lead_off = reading.attrs.get("lead_off")
        if lead_off is None:
            return False
        before = self._worn.get(reading.device_id)
        self._worn[reading.device_id] = lead_off
        return before is not None and before != lead_off

    # -- learning -------------------------------------------------------------------------
    def update(self, reading: Reading) -> list[AlertCandidate]:
        t = reading.ts
        last = self.last
        if last is not None and t <= last:
            return []  # out of order: the quiet stretch it belonged to is already measured
        if not self._is_activity(reading):
            return self.tick(t)  # a heartbeat carries the clock
        out: list[AlertCandidate] = []
        u = self._u(t)
        day = self._day(u)
        self._recent = [*self._recent[1 - BUSY_COUNT :], u]
        if reading.kind is Kind.EVENT and reading.attrs.get("type") == "door":
            state = DOOR
        elif _evening(u, self._model):
            state = NIGHT
        else:
            busy = len(self._recent) == BUSY_COUNT and u - self._recent[0] < BUSY_WINDOW_H
            state = BUSY if busy else QUIET
        hours = self._hours.get(day)
        if hours is None:
            hours = self._hours[day] = np.zeros((2, SLOTS), dtype=bool)
            self._span[day] = [u % 24, u % 24]
        slot = math.floor(u) % SLOTS
        hours[0, slot] = True
        if state == QUIET:  # a bool cell only ever turns on: no read-or-write of the cell
            hours[1, slot] = True
        self._span[day][1] = u % 24
        self._states.setdefault(day, set()).add(state)
        if self._raised_at is not None:
            self._raised_at = None
            resumed = {"device_id": reading.device_id, "ts": format_ts(t)}
            out.append(
                AlertCandidate(
                    self.ctx.patient_id,
                    CODE,
                    t,
                    Action.CLEAR,
                    outcome="activity_resumed",
                    evidence={"activity_resumed": resumed},
                )
            )
        elif last is not None:
            start = self._u(last)
            if u - start >= MIN_GAP_H:
                self._gaps.setdefault(self._day(start), []).append((start, u, self.last_state))
        self.last, self.last_device, self.last_state = t, reading.device_id, state
        self._due = None
        if self._learned_on != day:
            self._learn(day)
        return out

    def _learn(self, today: int) -> None:
        """Once a day: forget old history, relearn the pattern and the limits."""
        self._learned_on = today
        oldest = today - HISTORY_DAYS
        for store in (self._hours, self._span, self._gaps, self._states):
            for d in [d for d in store if d < oldest]:
                del store[d]
        complete = sorted(d for d in self._hours if d < today)
        if not complete or today - complete[0] < MIN_DAYS:
            self._model = None
            return
        days = range(complete[0], today)
        counts: npt.NDArray[np.int64] = np.sum(
            np.array([self._hours[d] for d in complete]), axis=0, dtype=np.int64
        )
        clock = HazardClock.from_counts(counts[0], len(days))
        spans = [self._span[d] for d in complete]
        rest = night_hours(
            _circular_median([s[1] for s in spans]), _circular_median([s[0] for s in spans])
        )
        quiet = HazardClock.from_counts(counts[1], len(days))
        waking = [NIGHT_HAZARD if h in rest else 1.0 for h in range(SLOTS)]
        outing = HazardClock.from_hazard(np.array(waking))
        clocks = {BUSY: clock, DOOR: outing, NIGHT: clock, QUIET: quiet}
        awake = [h for h in range(SLOTS) if h not in rest]
        # each day's longest quiet stretch by the state it began in, on that state's clock
        # (0 on a day the state was seen but all its stretches were short); the last row: all
        # states together on the clock of all activity
        index = {BUSY: 0, QUIET: 1, DOOR: 2, NIGHT: 3}
        longest = np.full((len(index) + 1, len(days)), np.nan)
        for d in days:
            for state in self._states.get(d, ()):
                longest[[index[state], -1], d - days.start] = 0.0
        gaps = [(a, b, index[st], d) for d in days for a, b, st in self._gaps.get(d, ())]
        if gaps:
            g = np.array(gaps, dtype=np.float64)
            rows, cols = g[:, 2].astype(np.intp), g[:, 3].astype(np.intp) - days.start
            for state, i in index.items():
                pick = rows == i
                c = clocks[state]
                lengths = c.at(g[pick, 1]) - c.at(g[pick, 0])
                np.fmax.at(longest, (rows[pick], cols[pick]), lengths)
            every = np.full(cols.size, len(index), dtype=np.intp)
            np.fmax.at(longest, (every, cols), clock.at(g[:, 1]) - clock.at(g[:, 0]))
        alpha = self.ctx.settings.inactivity_tail
        seen = ~np.isnan(longest)
        limits = {
            state: (clocks[state], tail_threshold(longest[i][seen[i]], alpha))
            for state, i in index.items()
            if seen[i].sum() >= MIN_STATE_DAYS
        }
        pooled = (clock, tail_threshold(np.nan_to_num(longest[-1]), alpha))
        night = {
            state: HazardClock.from_hazard(np.maximum(c.hazard, float(np.median(c.hazard[awake]))))
            for state, c in clocks.items()
        }
        awake_rate = float(np.median(clock.hazard[awake]))
        self._model = Learned(clocks, night, limits, pooled, rest, awake_rate)

    # -- alarm ----------------------------------------------------------------------------
    def due(self) -> datetime | None:
        """When the wellness check falls due if nothing happens (None during warm-up)."""
        last, m = self.last, self._model
        if last is None or m is None:
            return None
        if self._due is None:
            s = self.ctx.settings
            start = self._u(last)
            awake = math.floor(start) % SLOTS not in m.rest
            night_alarm = s.inactivity_night_alarm and awake
            clock, limit = m.limits.get(self.last_state, m.pooled)
            if night_alarm:
                clock = m.night_clocks[self.last_state if self.last_state in m.limits else BUSY]
            u = clock.until(start, limit)
            u = max(u, start + s.inactivity_floor.total_seconds() / 3600)
            ceiling = s.inactivity_ceiling.total_seconds() / 3600
            u = min(u, after_waking(start, ceiling, frozenset() if night_alarm else m.rest))
            self._due = self._t(u)
        return self._due

    @property
    def rest_hours(self) -> frozenset[int]:
        """Local hours of the elder's usual night (empty during warm-up)."""
        return self._model.rest if self._model is not None else frozenset()

    def tick(self, now: datetime) -> list[AlertCandidate]:
        last = self.last
        if (
            last is None
            or self._raised_at is not None
            or "lives_alone" not in self.ctx.flags
            or now <= last
        ):
            return []
        due, m = self.due(), self._model
        if due is None or m is None or now < due:
            return []
        self._raised_at = now
        start, u = self._u(last), self._u(now)
        return [
            AlertCandidate(
                self.ctx.patient_id,
                CODE,
                now,
                Action.RAISE,
                params={
                    "hours": (now - last).total_seconds() / 3600,
                    "usual_hours": (due - last).total_seconds() / 3600,
                },
                evidence={
                    "last_activity": format_ts(last),
                    "last_device": self.last_device,
                    "last_state": self.last_state,
                    "due_at": format_ts(due),
                    "quiet_waking_hours": round(waking_between(start, u, m.rest), 2),
                    "usual_hours": round((due - last).total_seconds() / 3600, 2),
                    "night_hours_local": sorted(m.rest),
                },
            )
        ]
