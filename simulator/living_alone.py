"""A living-alone cohort: elders at home by themselves, their routine as seen by their devices.

What reaches the gateway is only what their devices send, so each elder is a routine of sends:
- a BP cuff: a morning reading within an hour of waking (85 % of days) and an evening one within
  the hour before bed (70 %);
- a glucometer for about 40 % of elders: before breakfast (80 %) and before dinner (60 %);
- a watch for about half of them: heart rate every 15 min while worn (85 % of days, from shortly
  after waking to shortly before bed), off for a shower on half of the days;
- outings: about 0.8 a day, 1-4 h each, during which nothing arrives (the devices reach the
  gateway through the home hub);
- now and then a late night (5 % of days) and, for some, a night away with family (30 % chance
  of one per month, 24-36 h without data): a genuine reason for a wellness call to find nobody.
Every elder keeps their own wake and bed times (UTC+8 local clock, a few tens of minutes of
day-to-day jitter). `silent_from` ends every send at that moment: the silent home to be found.

The generator is deterministic per seed and imports only `devices`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from devices.kinds import Kind
from devices.model import Reading

LOCAL = timedelta(hours=8)  # the elders' local clock (China Standard Time)
HR_STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Elder:
    patient_id: str
    wake_h: float  # local hour of day
    bed_h: float
    glucometer: bool
    watch: bool
    trips_per_month: float


def cohort(n: int, seed: int) -> list[Elder]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(
            Elder(
                f"alone-{seed}-{i:03d}",
                float(np.clip(rng.normal(6.5, 0.6), 5.0, 9.0)),
                float(np.clip(rng.normal(21.5, 0.7), 20.0, 23.5)),
                bool(rng.random() < 0.4),
                bool(rng.random() < 0.5),
                0.3,
            )
        )
    return out


def _reading(e: Elder, device: str, kind: Kind, seq: int, ts: datetime) -> Reading:
    values = {
        Kind.BP: {"systolic": 132.0, "diastolic": 82.0},
        Kind.GLUCOSE: {"glucose": 6.4},
        Kind.HR: {"hr": 72.0},
    }[kind]
    return Reading("alone", f"{device}-{e.patient_id}", kind, seq, ts, ts, e.patient_id, values)


def _day(e: Elder, day0: datetime, rng: np.random.Generator) -> list[tuple[datetime, Kind]]:
    """One day's sends (UTC times) as (time, kind); `day0` is local midnight in UTC."""
    late = 2.0 if rng.random() < 0.05 else 0.0
    wake = day0 + timedelta(hours=e.wake_h + rng.normal(0, 0.4))
    bed = day0 + timedelta(hours=e.bed_h + late + rng.normal(0, 0.4))
    sends: list[tuple[datetime, Kind]] = []
    hour = timedelta(hours=1)
    if rng.random() < 0.85:
        sends.append((wake + rng.uniform(0.05, 1.0) * hour, Kind.BP))
    if rng.random() < 0.70:
        sends.append((bed - rng.uniform(0.05, 1.0) * hour, Kind.BP))
    if e.glucometer:
        if rng.random() < 0.8:
            sends.append((wake + rng.uniform(0.1, 0.8) * hour, Kind.GLUCOSE))
        if rng.random() < 0.6:
            sends.append((day0 + timedelta(hours=17.5 + rng.normal(0, 0.5)), Kind.GLUCOSE))
    if e.watch and rng.random() < 0.85:
        on, off = wake + rng.uniform(0, 1) * hour, bed - rng.uniform(0, 1) * hour
        shower = None
        if rng.random() < 0.5:
            start = on + rng.uniform(0, 1) * (off - on)
            shower = (start, start + rng.uniform(0.5, 1.0) * hour)
        t = on
        while t < off:
            if shower is None or not shower[0] <= t < shower[1]:
                sends.append((t, Kind.HR))
            t += HR_STEP
    outings = []
    for _ in range(rng.poisson(0.8)):
        length = float(np.clip(rng.lognormal(np.log(2.0), 0.4), 1.0, 4.0)) * hour
        start = wake + hour + rng.uniform(0, 1) * max(bed - wake - length - 2 * hour, hour)
        outings.append((start, start + length))
    return [(t, k) for t, k in sends if not any(a <= t < b for a, b in outings)]


def sends(
    e: Elder, start: datetime, days: int, seed: int, silent_from: datetime | None = None
) -> Iterator[Reading]:
    """The elder's readings for `days` days from local midnight on `start`'s date, in time order."""
    rng = _rng(e, seed)
    first = _midnight(start)
    away = _away(e, first, days, rng)
    seqs = {Kind.BP: 0, Kind.GLUCOSE: 0, Kind.HR: 0}
    names = {Kind.BP: "cuff", Kind.GLUCOSE: "meter", Kind.HR: "watch"}
    for d in range(days):
        for t, kind in sorted(_day(e, first + timedelta(days=d), rng)):
            if silent_from is not None and t >= silent_from:
                return
            if away is not None and away[0] <= t < away[1]:
                continue
            seqs[kind] += 1
            yield _reading(e, names[kind], kind, seqs[kind], t)


def _rng(e: Elder, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(e.patient_id.rsplit("-", 1)[-1])])


def _midnight(start: datetime) -> datetime:
    """Local midnight of `start`'s date, in UTC."""
    return datetime(start.year, start.month, start.day, tzinfo=UTC) - LOCAL


def _away(
    e: Elder, first: datetime, days: int, rng: np.random.Generator
) -> tuple[datetime, datetime] | None:
    if rng.random() < e.trips_per_month * days / 30:
        leave = first + timedelta(days=int(rng.integers(3, max(days - 1, 4))), hours=10)
        return (leave, leave + timedelta(hours=float(rng.uniform(24, 36))))
    return None


def away_window(
    e: Elder, start: datetime, days: int, seed: int
) -> tuple[datetime, datetime] | None:
    """The night away the generator gives this elder, if any (the same draws as `sends`)."""
    return _away(e, _midnight(start), days, _rng(e, seed))
