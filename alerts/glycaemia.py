"""Glycaemic summary of CGM readings per the 2019 international consensus on time in range
(Battelino et al., Diabetes Care 42:1593): time in five ranges, mean glucose, GMI, CV, the share
of the period the sensor was active, and the ambulatory glucose profile (AGP).

Pure: plain values and numpy arrays in, a frozen summary out; times are UTC and the time of day
for the AGP is taken in the time zone the caller names (the patient's or the reader's).

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 11, 1, tzinfo=UTC)
>>> times = [t0 + timedelta(minutes=5 * i) for i in range(4)]
>>> s = summarise(times, [2.5, 3.5, 6.0, 15.0], start=t0, end=t0 + timedelta(minutes=20))
>>> [round(r.percent) for r in s.ranges]
[25, 25, 25, 0, 25]
>>> round(s.mean_mmol, 2), round(s.gmi_percent, 2)
(6.75, 6.22)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

MGDL_PER_MMOL = 18.016
"""mg/dL per mmol/L of glucose (molar mass 180.16 g/mol)."""

# The consensus ranges in mmol/L: (code, low bound inclusive, high bound inclusive).
# Very low < 3.0; low 3.0-3.8 (3.0 <= g < 3.9); in range 3.9-10.0; high 10.1-13.9 (10.0 < g
# <= 13.9); very high > 13.9. The glucose values are continuous, so the printed bounds
# 3.8/10.1 are read as "below 3.9" and "above 10.0".
RANGES: tuple[str, ...] = ("very_low", "low", "in_range", "high", "very_high")
EDGES_MMOL = (3.0, 3.9, 10.0, 13.9)
CONSENSUS_TARGETS = {
    "very_low": ("<", 1.0),
    "low": ("<", 4.0),
    "in_range": (">", 70.0),
    "high": ("<", 25.0),
    "very_high": ("<", 5.0),
}
"""Targets for most adults with diabetes (percent of readings); older or high-risk adults use
>50 % in range, <1 % below 3.9 and <10 % above 13.9: the dashboard shows the general ones."""

MIN_DAYS = 14
MIN_ACTIVE_PERCENT = 70.0
"""The consensus asks for about 14 days of CGM with the sensor active at least 70 % of the time
before its figures describe a person's glucose; below that they are withheld (`sufficient`)."""

CV_STABLE_MAX = 36.0
"""CV at or below 36 % is 'stable' glucose in the consensus."""

AGP_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
AGP_BIN_MINUTES = 15
AGP_MIN_PER_BIN = 3
"""A time-of-day bin with fewer readings than this has no percentiles (drawn as a gap)."""


@dataclass(frozen=True, slots=True)
class RangeShare:
    code: str
    readings: int
    percent: float
    minutes_per_day: float


@dataclass(frozen=True, slots=True)
class AgpBin:
    """Percentiles of glucose (mmol/L) at one time of day, `minute` from local midnight."""

    minute: int
    count: int
    p05: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


@dataclass(frozen=True, slots=True)
class GlycaemiaSummary:
    start: datetime
    end: datetime
    tz: str
    readings: int
    sensor_active_percent: float
    mean_mmol: float | None
    sd_mmol: float | None
    cv_percent: float | None
    gmi_percent: float | None
    gmi_mmol_mol: float | None
    ranges: tuple[RangeShare, ...]
    agp: tuple[AgpBin, ...]

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("summary bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("summary end must be after its start")

    @property
    def sufficient(self) -> bool:
        """Enough data for the consensus figures to mean something: a period of at least
        `MIN_DAYS` days with the sensor active at least `MIN_ACTIVE_PERCENT` of it."""
        days = (self.end - self.start) / timedelta(days=1)
        return days >= MIN_DAYS and self.sensor_active_percent >= MIN_ACTIVE_PERCENT


def range_index(mmol: np.ndarray) -> np.ndarray:
    """0..4: the consensus range of each glucose value (see RANGES)."""
    lo_vlow, lo_range, hi_range, hi_high = EDGES_MMOL
    idx = np.full(mmol.shape, 2, dtype=np.int64)
    idx[mmol < lo_range] = 1
    idx[mmol < lo_vlow] = 0
    idx[mmol > hi_range] = 3
    idx[mmol > hi_high] = 4
    return idx


def gmi_percent(mean_mmol: float) -> float:
    """Glucose management indicator (%) = 3.31 + 0.02392 x mean glucose in mg/dL."""
    return 3.31 + 0.02392 * mean_mmol * MGDL_PER_MMOL


def gmi_mmol_mol(mean_mmol: float) -> float:
    """GMI in IFCC units (mmol/mol) = 12.71 + 4.70587 x mean glucose in mmol/L."""
    return 12.71 + 4.70587 * mean_mmol


def sensor_interval(seconds: np.ndarray) -> float:
    """The nominal CGM interval (s): the median gap between consecutive readings."""
    if seconds.size < 2:
        return 300.0
    gaps = np.diff(np.sort(seconds))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 300.0


def _minute_of_day(times: Sequence[datetime], tz: ZoneInfo) -> np.ndarray:
    local = [t.astimezone(tz) for t in times]
    return np.fromiter((t.hour * 60 + t.minute for t in local), dtype=np.int64, count=len(local))


def agp_bins(
    times: Sequence[datetime], mmol: np.ndarray, tz: ZoneInfo, bin_minutes: int = AGP_BIN_MINUTES
) -> tuple[AgpBin, ...]:
    """Glucose percentiles (5, 25, 50, 75, 95) per time-of-day bin, all days folded together."""
    if 1440 % bin_minutes:
        raise ValueError("AGP bins must divide the day")
    nbins = 1440 // bin_minutes
    which = _minute_of_day(times, tz) // bin_minutes if len(times) else np.zeros(0, np.int64)
    order = np.argsort(which, kind="stable")
    sorted_bins, sorted_vals = which[order], mmol[order]
    bounds = np.searchsorted(sorted_bins, np.arange(nbins + 1))
    out: list[AgpBin] = []
    for b in range(nbins):
        vals = sorted_vals[bounds[b] : bounds[b + 1]]
        if vals.size >= AGP_MIN_PER_BIN:
            p = np.percentile(vals, AGP_PERCENTILES)
            out.append(AgpBin(b * bin_minutes, int(vals.size), *(round(float(x), 2) for x in p)))
        else:
            out.append(AgpBin(b * bin_minutes, int(vals.size), None, None, None, None, None))
    return tuple(out)


def summarise(
    times: Sequence[datetime],
    mmol: Sequence[float] | np.ndarray,
    *,
    start: datetime,
    end: datetime,
    tz: str = "UTC",
) -> GlycaemiaSummary:
    """The consensus figures over CGM readings taken in [start, end).

    Shares are of readings (the consensus reports 'percentage of readings and time'; with a
    regular sensor they agree); minutes per day convert them over the days covered.
    """
    values = np.asarray(mmol, dtype=np.float64)
    if values.shape != (len(times),):
        raise ValueError("one glucose value per time")
    zone = ZoneInfo(tz)
    n = int(values.size)
    days = (end - start) / timedelta(days=1)
    counts = np.bincount(range_index(values), minlength=len(RANGES)) if n else np.zeros(5, int)
    ranges = tuple(
        RangeShare(
            code,
            int(c),
            round(100.0 * c / n, 1) if n else 0.0,
            round(1440.0 * c / n, 0) if n else 0.0,
        )
        for code, c in zip(RANGES, counts, strict=True)
    )
    seconds = np.fromiter((t.timestamp() for t in times), dtype=np.float64, count=n)
    span_s = (end - start).total_seconds()
    active = min(100.0, 100.0 * n * sensor_interval(seconds) / span_s) if n and days else 0.0
    mean = float(values.mean()) if n else None
    sd = float(values.std(ddof=1)) if n > 1 else None
    return GlycaemiaSummary(
        start=start,
        end=end,
        tz=tz,
        readings=n,
        sensor_active_percent=round(active, 1),
        mean_mmol=round(mean, 2) if mean is not None else None,
        sd_mmol=round(sd, 2) if sd is not None else None,
        cv_percent=round(100.0 * sd / mean, 1) if sd is not None and mean else None,
        gmi_percent=round(gmi_percent(mean), 2) if mean is not None else None,
        gmi_mmol_mol=round(gmi_mmol_mol(mean), 1) if mean is not None else None,
        ranges=ranges,
        agp=agp_bins(times, values, zone),
    )
