"""A living-alone cohort: elders at home by themselves, their routine as seen by their devices.

What reaches the gateway is only what their devices send, so each elder is a routine of sends:
- a BP cuff: a morning reading within an hour of waking (85 % of days) and an evening one within
  the hour before bed (70 %);
- a glucometer for about 40 % of elders: before breakfast (80 %) and before dinner (60 %);
- a watch for about half of them: heart rate every 15 min while worn (85 % of days, from shortly
  after waking to shortly before bed), off for a shower on half of the days; its status report
  says when it is put on and taken off (`lead_off`) and every 6 h otherwise (a heartbeat);
- outings: about 0.8 a day, 1-4 h each, during which nothing arrives (the devices reach the
  gateway through the home hub);
- now and then a late night (5 % of days) and, for some, a night away with family (30 % chance
  of one per month, 24-36 h without data): a genuine reason for a wellness call to find nobody.
- a home activity kit for about half of the homes: passive-infrared motion sensors in four rooms
  (a report every few minutes while someone moves about; nothing during one or two still spells
  of 20-75 min a day, an afternoon nap on half of the days, or outings; a visit or two to the
  bathroom at night) and a contact on the front door (opened on leaving and coming back, and for
  the odd visitor); the kit's hub reports its status every hour;
- a community health kiosk for about 40 % of elders: a BP reading during an outing about once a
  week.
Every elder keeps their own wake and bed times (UTC+8 local clock, a few tens of minutes of
day-to-day jitter). `silent_from` ends everything the elder does at that moment: the silent home
to be found. Devices keep reporting their status (heartbeats) after it.

The generator is deterministic per seed and imports only `devices`. The sends of the cuff,
glucometer and watch readings, the outings and the nights away are the same draws as before the
kit, kiosk and status reports were added (those come from streams of their own).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from devices.kinds import Kind
from devices.model import AttrValue, Reading

LOCAL = timedelta(hours=8)  # the elders' local clock (China Standard Time)
HR_STEP = timedelta(minutes=15)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ROOMS = ("kitchen", "living room", "bedroom", "bathroom")
WATCH_HEARTBEAT = timedelta(hours=6)
HUB_HEARTBEAT = timedelta(hours=1)
Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Elder:
    patient_id: str
    wake_h: float  # local hour of day
    bed_h: float
    glucometer: bool
    watch: bool
    trips_per_month: float
    motion: bool = False  # the home activity kit: motion sensors and a front-door contact
    kiosk: bool = False  # visits the community kiosk

    @property
    def devices(self) -> str:
        """The elder's device mix, for figures by group."""
        if self.motion:
            return "motion kit"
        return "watch" if self.watch else "readings only"


def cohort(n: int, seed: int) -> list[Elder]:
    rng = np.random.default_rng(seed)
    kit = np.random.default_rng([seed, 1_000_001])
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
                bool(kit.random() < 0.5),
                bool(kit.random() < 0.4),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Send:
    ts: datetime
    kind: Kind
    device: str
    values: Mapping[str, float]
    attrs: Mapping[str, AttrValue]
    activity: bool = True  # something the elder did (False: a device's own heartbeat)


_VALUES = {
    Kind.BP: {"systolic": 132.0, "diastolic": 82.0},
    Kind.GLUCOSE: {"glucose": 6.4},
    Kind.HR: {"hr": 72.0},
}
_NAMES = {Kind.BP: "cuff", Kind.GLUCOSE: "meter", Kind.HR: "watch"}


@dataclass(frozen=True, slots=True)
class _DayPlan:
    day0: datetime  # local midnight
    wake: datetime
    bed: datetime
    worn: Interval | None
    outings: list[Interval]


def _day(
    e: Elder, day0: datetime, rng: np.random.Generator
) -> tuple[list[tuple[datetime, Kind]], _DayPlan]:
    """One day's readings (UTC times) as (time, kind) and its plan; `day0` is local midnight."""
    late = 2.0 if rng.random() < 0.05 else 0.0
    wake = day0 + timedelta(hours=e.wake_h + rng.normal(0, 0.4))
    bed = day0 + timedelta(hours=e.bed_h + late + rng.normal(0, 0.4))
    sends: list[tuple[datetime, Kind]] = []
    if rng.random() < 0.85:
        sends.append((wake + rng.uniform(0.05, 1.0) * HOUR, Kind.BP))
    if rng.random() < 0.70:
        sends.append((bed - rng.uniform(0.05, 1.0) * HOUR, Kind.BP))
    if e.glucometer:
        if rng.random() < 0.8:
            sends.append((wake + rng.uniform(0.1, 0.8) * HOUR, Kind.GLUCOSE))
        if rng.random() < 0.6:
            sends.append((day0 + timedelta(hours=17.5 + rng.normal(0, 0.5)), Kind.GLUCOSE))
    worn = None
    if e.watch and rng.random() < 0.85:
        on, off = wake + rng.uniform(0, 1) * HOUR, bed - rng.uniform(0, 1) * HOUR
        worn = (on, off)
        shower = None
        if rng.random() < 0.5:
            start = on + rng.uniform(0, 1) * (off - on)
            shower = (start, start + rng.uniform(0.5, 1.0) * HOUR)
        t = on
        while t < off:
            if shower is None or not shower[0] <= t < shower[1]:
                sends.append((t, Kind.HR))
            t += HR_STEP
    outings = []
    for _ in range(rng.poisson(0.8)):
        length = float(np.clip(rng.lognormal(np.log(2.0), 0.4), 1.0, 4.0)) * HOUR
        start = wake + HOUR + rng.uniform(0, 1) * max(bed - wake - length - 2 * HOUR, HOUR)
        outings.append((start, start + length))
    kept = [(t, k) for t, k in sends if not _inside(t, outings)]
    return kept, _DayPlan(day0, wake, bed, worn, outings)


def _inside(t: datetime, spans: list[Interval]) -> bool:
    return any(a <= t < b for a, b in spans)


def _kit_day(
    e: Elder, plan: _DayPlan, next_wake: datetime, rng: np.random.Generator
) -> list[_Send]:
    """Motion and front-door events of one day, from waking to the next morning."""
    still: list[Interval] = []
    for _ in range(rng.poisson(1.5)):
        start = plan.wake + rng.uniform(0, 1) * (plan.bed - plan.wake)
        still.append((start, start + rng.uniform(20, 75) * MINUTE))
    if rng.random() < 0.5:  # an afternoon nap, about 13:00 local
        nap = plan.day0 + timedelta(hours=13 + rng.normal(0, 0.5))
        still.append((nap, nap + rng.uniform(40, 100) * MINUTE))
    out: list[_Send] = []
    t = plan.wake
    room = "bedroom"
    while t < plan.bed:
        if not _inside(t, still) and not _inside(t, plan.outings):
            if rng.random() < 0.3:
                room = ROOMS[int(rng.integers(len(ROOMS)))]
            out.append(_event(e, "motion", room, t))
        t += float(rng.exponential(5.0) + 1.0) * MINUTE
    for a, b in plan.outings:
        out.append(_event(e, "door", "entrance", a - rng.uniform(0, 2) * MINUTE))
        out.append(_event(e, "door", "entrance", b + rng.uniform(0, 2) * MINUTE))
    for _ in range(rng.poisson(0.3)):  # a visitor or a delivery at the door
        out.append(
            _event(e, "door", "entrance", plan.wake + rng.uniform(0, 1) * (plan.bed - plan.wake))
        )
    for _ in range(rng.poisson(1.0)):  # up at night
        t = plan.bed + rng.uniform(0.1, 0.9) * (next_wake - plan.bed)
        for k in range(int(rng.integers(1, 4))):
            out.append(_event(e, "motion", "bathroom" if k else "bedroom", t + k * 2 * MINUTE))
    return out


def _event(e: Elder, etype: str, room: str, t: datetime) -> _Send:
    device = (
        f"door-{e.patient_id}" if etype == "door" else f"pir-{room.replace(' ', '')}-{e.patient_id}"
    )
    return _Send(t, Kind.EVENT, device, {}, {"type": etype, "room": room})


def _status(device: str, t: datetime, lead_off: bool | None, activity: bool) -> _Send:
    attrs: dict[str, AttrValue] = {} if lead_off is None else {"lead_off": lead_off}
    return _Send(t, Kind.STATUS, device, {"battery": 0.8}, attrs, activity)


def _schedule(
    e: Elder, start: datetime, days: int, seed: int
) -> tuple[list[_Send], Interval | None]:
    rng = _rng(e, seed)
    extra = np.random.default_rng([seed, int(e.patient_id.rsplit("-", 1)[-1]), 1_000_003])
    first = _midnight(start)
    away = _away(e, first, days, rng)
    out: list[_Send] = []
    plans: list[_DayPlan] = []
    for d in range(days):
        kept, plan = _day(e, first + timedelta(days=d), rng)
        plans.append(plan)
        out += [_Send(t, k, f"{_NAMES[k]}-{e.patient_id}", _VALUES[k], {}) for t, k in kept]
    watch = f"watch-{e.patient_id}"
    for d, plan in enumerate(plans):
        next_wake = plans[d + 1].wake if d + 1 < days else plan.wake + timedelta(days=1)
        if e.watch and plan.worn is not None:
            on, off = plan.worn
            if not _inside(on, plan.outings):
                out.append(_status(watch, on, False, True))
            if not _inside(off, plan.outings):
                out.append(_status(watch, off, True, True))
        if e.motion:
            out += _kit_day(e, plan, next_wake, extra)
        if e.kiosk and plan.outings and extra.random() < 1 / 7:
            a, b = plan.outings[int(extra.integers(len(plan.outings)))]
            t = a + extra.uniform(0.2, 0.8) * (b - a)
            out.append(_Send(t, Kind.BP, f"kiosk-{seed}", _VALUES[Kind.BP], {}))
    if e.motion and away is not None:
        out += [_event(e, "door", "entrance", away[0] - MINUTE)]
        out += [_event(e, "door", "entrance", away[1] + MINUTE)]
    end = first + timedelta(days=days)
    for device, step, fitted in (
        (watch, WATCH_HEARTBEAT, e.watch),
        (f"hub-{e.patient_id}", HUB_HEARTBEAT, e.motion),
    ):
        t = first + step
        while fitted and t < end:
            out.append(_status(device, t, None, False))
            t += step
    return out, away


def sends(
    e: Elder, start: datetime, days: int, seed: int, silent_from: datetime | None = None
) -> Iterator[Reading]:
    """The elder's readings for `days` days from local midnight on `start`'s date, in time order."""
    schedule, away = _schedule(e, start, days, seed)
    seqs: dict[str, int] = {}
    for s in sorted(schedule, key=lambda s: (s.ts, s.device)):
        if s.activity and (
            (silent_from is not None and s.ts >= silent_from)
            or (away is not None and away[0] <= s.ts < away[1])
        ):
            continue
        seq = seqs[s.device] = seqs.get(s.device, 0) + 1
        patient = e.patient_id
        yield Reading("alone", s.device, s.kind, seq, s.ts, s.ts, patient, s.values, s.attrs)


def _rng(e: Elder, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(e.patient_id.rsplit("-", 1)[-1])])


def _midnight(start: datetime) -> datetime:
    """Local midnight of `start`'s date, in UTC."""
    return datetime(start.year, start.month, start.day, tzinfo=UTC) - LOCAL


def _away(e: Elder, first: datetime, days: int, rng: np.random.Generator) -> Interval | None:
    if rng.random() < e.trips_per_month * days / 30:
        leave = first + timedelta(days=int(rng.integers(3, max(days - 1, 4))), hours=10)
        return (leave, leave + timedelta(hours=float(rng.uniform(24, 36))))
    return None


def away_window(e: Elder, start: datetime, days: int, seed: int) -> Interval | None:
    """The night away the generator gives this elder, if any (the same draws as `sends`)."""
    return _away(e, _midnight(start), days, _rng(e, seed))
