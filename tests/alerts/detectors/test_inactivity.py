"""The silent-home wellness check: learned per elder, quiet at night, only for elders alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerts.detectors.base import DEFAULT_SETTINGS, PatientContext
from alerts.detectors.inactivity import CODE, InactivityDetector
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

# Local (UTC+8) midnight of the first day.
DAY0 = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(hours=8)
ALONE = frozenset({"lives_alone"})
_seq = iter(range(1, 10**9))


def hr(t: datetime) -> Reading:
    return Reading("t", "watch", Kind.HR, next(_seq), t, t, "p", {"hr": 70.0})


def watch_days(days: int) -> list[Reading]:
    """A watch worn 07:00-21:00 local, a reading every 15 min."""
    out = []
    for d in range(days):
        t = DAY0 + timedelta(days=d, hours=7)
        while t < DAY0 + timedelta(days=d, hours=21):
            out.append(hr(t))
            t += timedelta(minutes=15)
    return out


def feed(det: InactivityDetector, readings: list[Reading]) -> list[AlertCandidate]:
    return [c for r in readings for c in det.update(r)]


def ticks(det: InactivityDetector, start: datetime, hours: float) -> list[AlertCandidate]:
    out = []
    for k in range(int(hours * 12)):
        out += det.tick(start + timedelta(minutes=5 * k))
    return out


def test_learns_the_night_and_a_short_limit_for_a_watch_wearer() -> None:
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, watch_days(14))
    assert det.threshold == timedelta(hours=2)  # the floor: 15-min readings all day
    # the night runs from the last reading (20:45 local) to the first (07:00): UTC 13-22 h
    assert det.rest_hours == frozenset(range(13, 23))
    # Silent from 09:00 local on day 15: the wellness check comes a little after 2 h.
    feed(det, [hr(DAY0 + timedelta(days=14, hours=7 + k / 4)) for k in range(9)])
    last = det.last
    assert last is not None
    raised = [c for c in ticks(det, last, 6) if c.action is Action.RAISE]
    assert [c.code for c in raised] == [CODE]
    assert timedelta(hours=2) < raised[0].at - last <= timedelta(hours=2, minutes=5)
    [clear] = det.update(hr(last + timedelta(hours=7)))
    assert clear.action is Action.CLEAR
    assert det.threshold == timedelta(hours=2)  # the alerted stretch was not learned


def test_no_alarm_at_night_unless_the_policy_says_so() -> None:
    """Silent from 20:30 local, just before the usual night: by default the wellness check
    waits for the morning; with the night alarm the silence counts through the night."""
    local = timedelta(hours=8)
    for night_alarm, hour in ((False, 8), (True, 22)):
        settings = replace(DEFAULT_SETTINGS, inactivity_night_alarm=night_alarm)
        det = InactivityDetector(PatientContext("p", settings=settings, flags=ALONE))
        feed(det, watch_days(14))
        det.update(hr(DAY0 + timedelta(days=14, hours=20.5)))
        last = det.last
        assert last is not None
        [raised] = [c for c in ticks(det, last, 14) if c.action is Action.RAISE]
        assert (raised.at + local).hour == hour
        # A silence that starts at bedtime never raises during the night, whatever the policy.
        det2 = InactivityDetector(PatientContext("p", settings=settings, flags=ALONE))
        feed(det2, watch_days(14))
        assert det2.last is not None
        det2.update(hr(DAY0 + timedelta(days=13, hours=22, minutes=30)))
        assert det2.last is not None
        assert [c for c in ticks(det2, det2.last, 7) if c.action is Action.RAISE] == []


def test_only_for_elders_who_live_alone_and_not_before_warm_up() -> None:
    det = InactivityDetector(PatientContext("p"))
    feed(det, watch_days(14))
    assert det.last is not None
    assert ticks(det, det.last, 30) == []
    young = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(young, watch_days(5))
    assert young.threshold is None
    assert young.last is not None
    assert ticks(young, young.last, 30) == []


def test_a_twice_daily_measurer_gets_the_ceiling() -> None:
    det = InactivityDetector(PatientContext("p", flags=ALONE))
    feed(det, [hr(DAY0 + timedelta(days=d, hours=h)) for d in range(14) for h in (7, 21)])
    assert det.threshold == DEFAULT_SETTINGS.inactivity_ceiling
