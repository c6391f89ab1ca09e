"""The silent-home wellness check: learned per elder from their own day, quiet at night, every
signal counted, only for elders alone."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerts.detectors.base import DEFAULT_SETTINGS, PatientContext
from alerts.detectors.inactivity import CODE, InactivityDetector
from alerts.engine import DetectionEngine
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import AttrValue, Reading

# Local (UTC+8) midnight of the first day.
DAY0 = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(hours=8)
LOCAL = timedelta(hours=8)
ALONE = frozenset({"lives_alone"})
_seq = iter(range(1, 10**9))


def hr(t: datetime) -> Reading:
    return Reading("t", "watch", Kind.HR, next(_seq), t, t, "p", {"hr": 70.0})


def event(t: datetime, etype: str, device: str = "pir-kitchen") -> Reading:
    return Reading("t", device, Kind.EVENT, next(_seq), t, t, "p", attrs={"type": etype})


def status(t: datetime, **attrs: AttrValue) -> Reading:
    return Reading("t", "watch", Kind.STATUS, next(_seq), t, t, "p", {"battery": 0.8}, attrs)


def at(day: int, hour: float) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def watch_days(days: int, skip: tuple[float, float] = (0.0, 0.0)) -> list[Reading]:
    """A watch worn 07:00-21:00 local, a reading every 15 min (none in the `skip` hours)."""
    return [
        hr(at(d, 7 + k / 4))
        for d in range(days)
        for k in range(56)
        if not skip[0] <= 7 + k / 4 < skip[1]
    ]


def feed(det: InactivityDetector, readings: list[Reading]) -> list[AlertCandidate]:
    return [c for r in readings for c in det.update(r)]


def ticks(det: InactivityDetector, start: datetime, hours: float) -> list[AlertCandidate]:
    return [c for k in range(int(hours * 12)) for c in det.tick(start + timedelta(minutes=5 * k))]


def raised(cands: list[AlertCandidate]) -> list[AlertCandidate]:
    return [c for c in cands if c.action is Action.RAISE]


def test_a_watch_wearer_is_called_on_soon_after_the_floor_and_the_call_clears() -> None:
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, watch_days(14))
    assert det.rest_hours == frozenset(range(21, 24)) | frozenset(range(7))
    feed(det, [hr(at(14, 7 + k / 4)) for k in range(9)])  # silent from 09:00 local on day 15
    last = det.last
    assert last is not None
    [check] = raised(ticks(det, last, 6))
    assert check.code == CODE
    assert timedelta(hours=2) <= check.at - last <= timedelta(hours=2, minutes=30)
    assert check.evidence["last_device"] == "watch"
    assert check.evidence["due_at"] <= check.at.isoformat().replace("+00:00", "Z")
    [clear] = det.update(hr(last + timedelta(hours=7)))
    assert clear.action is Action.CLEAR
    # the alerted stretch was not learned: the next silence is called on as soon
    feed(det, [hr(last + timedelta(hours=7, minutes=15 * k)) for k in range(1, 5)])
    again = det.due()
    assert again is not None
    assert det.last is not None
    assert again - det.last <= timedelta(hours=2, minutes=30)


def test_the_elders_own_quiet_hours_cost_little() -> None:
    """A daily walk from 15:00 to 17:00 without the watch's readings is the elder's habit; the
    same two hours' silence at 10:00 is not."""
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, watch_days(14, skip=(15, 17)))
    feed(det, [hr(at(14, 7 + k / 4)) for k in range(33)])  # up to 15:00
    walk = det.last
    assert walk is not None
    assert raised(ticks(det, walk, 2)) == []
    feed(det, [hr(at(14, 17 + k / 4)) for k in range(8)])
    det2 = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det2, watch_days(14, skip=(15, 17)))
    feed(det2, [hr(at(14, 7 + k / 4)) for k in range(13)])  # up to 10:00
    assert det2.last is not None
    [check] = raised(ticks(det2, det2.last, 6))
    assert check.at - det2.last <= timedelta(hours=2, minutes=30)


def test_no_alarm_at_night_unless_the_policy_says_so() -> None:
    """Silent from 20:30 local, just before the usual night: by default the wellness check
    waits for the morning; with the night alarm the silence counts through the night."""
    for night_alarm, hours in ((False, (7, 8)), (True, (22,))):
        settings = replace(DEFAULT_SETTINGS, inactivity_night_alarm=night_alarm)
        det = InactivityDetector(PatientContext("p", settings=settings, flags=ALONE))
        feed(det, watch_days(14))
        feed(det, [hr(at(14, 7 + k / 4)) for k in range(55)])  # up to 20:30
        last = det.last
        assert last is not None
        [check] = raised(ticks(det, last, 14))
        assert (check.at + LOCAL).hour in hours
        # A silence that starts in the night never raises during the night, whatever the policy.
        det2 = InactivityDetector(PatientContext("p", settings=settings, flags=ALONE))
        feed(det2, watch_days(14))
        det2.update(hr(at(13, 22.5)))
        assert det2.last is not None
        assert raised(ticks(det2, det2.last, 7)) == []


def test_only_for_elders_who_live_alone_and_not_before_warm_up() -> None:
    det = InactivityDetector(PatientContext("p"))
    feed(det, watch_days(14))
    assert det.last is not None
    assert ticks(det, det.last, 30) == []
    young = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(young, watch_days(5))
    assert young.due() is None
    assert young.last is not None
    assert ticks(young, young.last, 30) == []


def test_a_twice_daily_measurer_waits_past_the_missed_reading_within_the_ceiling() -> None:
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, [hr(at(d, h)) for d in range(14) for h in (7, 21)])
    det.update(hr(at(14, 7)))
    due = det.due()
    assert due is not None
    assert due > at(15, 7.5)  # not before the evening and the morning reading are missed
    # the ceiling: 20 waking hours, 14 on the day (07:00-21:00) and 6 on the next one
    assert due == at(15, 13)
    assert det.rest_hours == frozenset(range(21, 24)) | frozenset(range(7))


def test_heartbeats_carry_the_clock_and_putting_a_device_on_is_activity() -> None:
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, watch_days(14))
    det.update(status(at(14, 6), lead_off=True))  # on the charger overnight: first report
    det.update(status(at(14, 7), lead_off=False))  # put on: activity
    assert det.last == at(14, 7)
    feed(det, [hr(at(14, 7 + k / 4)) for k in range(1, 9)])  # worn until 09:00
    assert det.update(status(at(14, 10), lead_off=False)) == []  # a heartbeat
    assert det.last == at(14, 9)
    [check] = det.update(status(at(14, 13)))  # no tick needed: the heartbeat's own time
    assert check.code == CODE
    assert check.at == at(14, 13)


def test_after_the_front_door_an_outing_is_expected_at_home_silence_is_not() -> None:
    """Motion every 10 min 07:00-22:00 and a 2-3 h outing each late morning, door on leaving
    and on coming back: three hours out raise nothing, three hours still at home do."""
    stream: list[Reading] = []
    for d in range(14):
        out = (10.0, 12.0 + (d % 3) * 0.5)
        stream += [event(at(d, out[0]), "door", "door"), event(at(d, out[1]), "door", "door")]
        stream += [
            event(at(d, 7 + k / 6), "motion")
            for k in range(90)
            if not out[0] <= 7 + k / 6 <= out[1]
        ]
    stream.sort(key=lambda r: r.ts)
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, stream)
    feed(det, [event(at(14, 7 + k / 6), "motion") for k in range(18)])
    det.update(event(at(14, 10.1), "door", "door"))
    assert raised(ticks(det, at(14, 10.1), 3)) == []
    det.update(event(at(14, 13.1), "door", "door"))
    det.update(event(at(14, 13.2), "motion"))
    det.update(event(at(14, 13.3), "motion"))
    det.update(event(at(14, 13.4), "motion"))
    [check] = raised(ticks(det, at(14, 13.4), 4))
    assert check.evidence["last_state"] == "busy"
    assert check.at - at(14, 13.4) <= timedelta(hours=2, minutes=30)


def test_state_survives_a_snapshot_and_the_engine_routes_every_kind() -> None:
    engine = DetectionEngine(["inactivity"], flags_for=lambda _pid: ALONE)
    for r in watch_days(14):
        engine.process(r)
    for k in range(9):
        engine.process(hr(at(14, 7 + k / 4)))
    restored = DetectionEngine(["inactivity"], flags_for=lambda _pid: ALONE)
    restored.import_state(pickle.loads(pickle.dumps(engine.export_state())))
    for e in (engine, restored):
        assert raised(e.process(status(at(14, 10)))) == []
    beat = status(at(14, 13))
    first, second = engine.process(beat), restored.process(beat)
    assert [c.code for c in first] == [CODE]
    assert second == first
    fresh = DetectionEngine(["inactivity"], flags_for=lambda _pid: ALONE)
    assert fresh.process(beat) == []  # a fresh engine knows nothing of this elder


def test_ticking_more_or_less_often_raises_at_the_same_due_time() -> None:
    """The check falls due at a time fixed by the learned state, whatever the tick cadence."""
    times = []
    for minutes in (1, 5, 15):
        det = InactivityDetector(PatientContext("p", flags=ALONE))
        feed(det, watch_days(14))
        det.update(hr(at(14, 9)))
        due = det.due()
        assert due is not None
        k = 0
        while not (out := det.tick(at(14, 9) + timedelta(minutes=minutes * k))):
            k += 1
        times.append((out[0].at, due))
    assert {d for _, d in times} == {times[0][1]}
    assert all(timedelta(0) <= t - d < timedelta(minutes=15) for t, d in times)
