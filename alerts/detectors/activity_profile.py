"""An elder's daily activity pattern as a hazard clock, and the tail of their own quiet stretches.

Time is in local hours since the epoch (`local_hours`). The pattern is one probability per hour
of the local day, q[h] = the share of days with any activity in that hour (a Beta(0.5, 1) prior,
smoothed over neighbouring hours against day-to-day jitter). Its hazard, -ln(1 - q[h]), is the
rate at which silence becomes unlikely in that hour: an hour the elder is nearly always active in
counts about 4, a night hour almost nothing. `HazardClock` integrates it, so the length of a
quiet stretch is measured in what it would cost if hours were independent (`ln` of the chance of
so long a silence), and inverts it, which gives the moment a silence becomes due.

Hours are not independent (an outing empties several in a row), so the threshold is calibrated
on the elder's own history instead of trusted: `tail_threshold` takes each day's longest quiet
stretch (on this clock) and returns the length that a share `alpha` of days exceed, the empirical
quantile where the history has the data, an exponential tail fitted to the longest quarter of
days beyond it (peaks over a threshold).

>>> clock = HazardClock.from_counts(np.full(24, 28), 28)
>>> round(clock.length(0.0, 2.0), 2), round(clock.until(0.0, clock.length(0.0, 2.0)), 6)
(6.77, 2.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

SLOTS: Final = 24  # hours of the local day
PRIOR: Final = (0.5, 1.0)  # Beta prior of an hour's activity probability
Q_MAX: Final = 0.98  # an hour is never certain (hazard at most ln 50 = 3.9)
SMOOTH: Final = np.array([0.25, 0.5, 0.25])
TAIL_SHARE: Final = 0.25  # the tail is fitted to the longest quarter of days
BETA_MIN: Final = 0.5  # the tail's scale, at least (hazard units) ...
BETA_REL: Final = 0.15  # ... and at least this share of where the tail starts
_HOURS = np.arange(SLOTS + 1, dtype=np.float64)


def local_hours(t: datetime, offset: timedelta) -> float:
    """`t` as hours since the epoch on the local clock."""
    return (t.timestamp() + offset.total_seconds()) / 3600.0


@dataclass(frozen=True, slots=True)
class HazardClock:
    """The cumulative hazard of one local day (`cum[h]` at the start of hour h), repeated."""

    cum: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.cum.shape != (SLOTS + 1,) or not np.all(np.diff(self.cum) > 0):
            raise ValueError("a hazard clock needs 25 strictly increasing values")

    @classmethod
    def from_counts(cls, active_days: npt.NDArray[np.int64], days: int) -> HazardClock:
        """From the number of days (of `days`) with activity in each local hour."""
        a, b = PRIOR
        q = (active_days.astype(np.float64) + a) / (days + a + b)
        q = np.convolve(np.concatenate([q[-1:], q, q[:1]]), SMOOTH, mode="valid")
        return cls.from_hazard(-np.log1p(-np.minimum(q, Q_MAX)))

    @classmethod
    def from_hazard(cls, hazard: npt.NDArray[np.float64]) -> HazardClock:
        return cls(np.concatenate([[0.0], np.cumsum(hazard)]))

    @property
    def hazard(self) -> npt.NDArray[np.float64]:
        return np.diff(self.cum)

    @property
    def day(self) -> float:
        return float(self.cum[-1])

    def at(self, u: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Cumulative hazard from the epoch to local hour(s) `u`."""
        hours = np.asarray(u, dtype=np.float64)
        days = np.floor(hours / SLOTS)
        out: npt.NDArray[np.float64] = days * self.day + np.interp(
            hours - days * SLOTS, _HOURS, self.cum
        )
        return out

    def length(self, start: float, end: float) -> float:
        """The hazard accumulated from local hour `start` to `end`."""
        return float(self.at(end) - self.at(start))

    def until(self, start: float, amount: float) -> float:
        """The local hour at which `amount` of hazard has accumulated since `start`."""
        y = float(self.at(start)) + amount
        days = math.floor(y / self.day)
        return days * SLOTS + float(np.interp(y - days * self.day, self.cum, _HOURS))


def tail_threshold(longest: npt.NDArray[np.float64], alpha: float) -> float:
    """The quiet-stretch length that a share `alpha` of days exceed, from each day's longest."""
    m = np.sort(np.asarray(longest, dtype=np.float64))
    n = m.size
    if n == 0:
        raise ValueError("no days to learn from")
    k = max(2, math.ceil(TAIL_SHARE * n))
    if alpha >= k / n or n < k:
        return float(np.quantile(m, 1.0 - alpha))
    u = float(m[n - k])
    beta = max(float(np.mean(m[n - k + 1 :] - u)), BETA_MIN + BETA_REL * u)
    return u + beta * math.log(k / (n * alpha))


def after_waking(start: float, hours: float, rest: frozenset[int]) -> float:
    """The local hour at which `hours` outside the `rest` hours of the day have passed."""
    if len(rest) >= SLOTS:
        raise ValueError("rest hours cannot fill the day")
    per_day = SLOTS - len(rest)
    whole = max(0, math.floor(hours / per_day) - 1)
    u, left = start + whole * SLOTS, hours - whole * per_day
    while left > 0:
        nxt = math.floor(u) + 1.0
        if math.floor(u) % SLOTS not in rest:
            step = min(nxt - u, left)
            left -= step
            u += step
            if left <= 0:
                break
        u = nxt
    return u


def waking_between(start: float, end: float, rest: frozenset[int]) -> float:
    """Hours of [start, end) outside the `rest` hours of the local day."""
    total, u = 0.0, start
    if end - start > 2 * SLOTS:
        days = math.floor((end - start) / SLOTS) - 1
        total, u = days * (SLOTS - len(rest)), start + days * SLOTS
    while u < end:
        nxt = min(end, math.floor(u) + 1.0)
        if math.floor(u) % SLOTS not in rest:
            total += nxt - u
        u = nxt
    return total
