"""SOS and fall events open emergency alerts at once; a timely cancel resolves a fall."""

from __future__ import annotations

from datetime import timedelta

from alerts.codes import CODES, is_emergency, urgency
from alerts.detectors.base import PatientContext
from alerts.detectors.emergency import EmergencyDetector
from alerts.lifecycle import AlertBook
from alerts.model import Action, EventType, Priority
from devices.timeparse import format_ts
from tests.alerts.detectors.readings import PID, at, event


def test_sos_and_fall_raise_with_location_evidence() -> None:
    det = EmergencyDetector(PatientContext(PID))
    [sos] = det.update(event(0, "sos", room="bathroom", component="pendant-button"))
    assert sos.code == "emergency.sos"
    assert sos.action is Action.RAISE
    assert sos.evidence["event"]["location"] == {"room": "bathroom"}
    assert sos.evidence["event"]["component"] == "pendant-button"
    [fall] = det.update(event(1, "fall"))
    assert fall.code == "emergency.fall"
    assert fall.group != sos.group  # one alert per event


def _fall_then_cancel(after: timedelta) -> list[EventType]:
    det = EmergencyDetector(PatientContext(PID))
    book = AlertBook("t")
    fall = event(0, "fall")
    cands = det.update(fall)
    minutes = after.total_seconds() / 60
    cands += det.update(
        event(minutes, "cancel", ref_seq=fall.seq, ref_type="fall", ref_ts=format_ts(fall.ts))
    )
    events = [book.apply(c, c.at) for c in cands]
    return [e.event for e in events if e is not None]


def test_cancel_within_the_window_resolves_the_fall_as_cancelled() -> None:
    det = EmergencyDetector(PatientContext(PID))
    book = AlertBook("t")
    fall = event(0, "fall")
    opened = book.apply(det.update(fall)[0], at(0))
    assert opened is not None
    [clear] = det.update(
        event(1.5, "cancel", ref_seq=fall.seq, ref_type="fall", ref_ts=format_ts(fall.ts))
    )
    resolved = book.apply(clear, at(1.5))
    assert resolved is not None
    assert resolved.event is EventType.RESOLVED
    assert resolved.detail == {"outcome": "cancelled"}
    assert "cancel" in resolved.alert.evidence
    assert "event" in resolved.alert.evidence  # recorded, not replaced
    assert _fall_then_cancel(timedelta(minutes=3)) == [EventType.OPENED]  # too late: stays open


def test_cancel_of_an_sos_leaves_it_open() -> None:
    det = EmergencyDetector(PatientContext(PID))
    sos = event(0, "sos")
    det.update(sos)
    cancel = event(0.5, "cancel", ref_seq=sos.seq, ref_type="sos", ref_ts=format_ts(sos.ts))
    assert det.update(cancel) == []


def test_emergency_codes_sort_above_every_priority() -> None:
    emergencies = [c for c in CODES if is_emergency(c)]
    assert sorted(emergencies) == ["emergency.fall", "emergency.inactivity", "emergency.sos"]
    top = min(urgency(c, CODES[c].priority) for c in emergencies)
    for code, spec in CODES.items():
        if code not in emergencies:
            assert urgency(code, spec.priority) < top
    assert urgency("emergency.inactivity", Priority.LOW) > urgency("ecg.asystole", Priority.HIGH)
    for code in emergencies:
        assert CODES[code].en
        assert CODES[code].zh
