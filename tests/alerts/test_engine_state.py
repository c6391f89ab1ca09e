"""Detector state taken out of one engine and put into another carries on exactly: the second
engine gives, for the rest of the stream, what the first one gives (snapshots rely on this)."""

from __future__ import annotations

import pickle

from alerts.engine import DetectionEngine
from alerts.model import AlertCandidate
from devices.model import PatientKey, Reading
from tests.alerts.detectors.readings import KEY, bp, ecg_chunk, glucose


def _stream() -> tuple[list[Reading], list[Reading]]:
    """Two halves; state from the first decides what the second raises: a CGM trend, an ECG
    rate episode, and a suspect crisis (narrow pulse pressure) whose repeat confirms it."""
    first: list[Reading] = []
    second: list[Reading] = []
    for k in range(40):
        half = first if k < 20 else second
        m = k * 5.0
        half.append(glucose(m, 7.0 - 0.12 * k, "cgm"))  # falling towards a low
        if k % 8 == 0:
            half.append(bp(m + 1, 150 + k, 95))
        if k % 4 == 0:
            half.extend(ecg_chunk(m + 2 + c / 6, bpm=72 if k < 12 else 128) for c in range(3))
    first.append(bp(101, 186, 172))
    second.insert(0, bp(103, 188, 174))
    return first, second


def _codes(cands: list[AlertCandidate]) -> list[tuple[str, str]]:
    return [(c.code, c.at.isoformat()) for c in cands]


def test_exported_state_continues_the_stream() -> None:
    first, second = _stream()
    a = DetectionEngine()
    for r in first:
        a.process(r)
    b = DetectionEngine()
    b.import_state(pickle.loads(pickle.dumps(a.export_state())))
    rest_a = [c for r in second for c in a.process(r)]
    rest_b = [c for r in second for c in b.process(r)]
    assert rest_a  # the rest of the stream does raise something
    assert _codes(rest_b) == _codes(rest_a)


def test_a_fresh_engine_differs() -> None:
    """The check above could pass by accident if state did not matter: it does."""
    first, second = _stream()
    a = DetectionEngine()
    for r in first:
        a.process(r)
    fresh = DetectionEngine()
    rest_a = [c for r in second for c in a.process(r)]
    rest_fresh = [c for r in second for c in fresh.process(r)]
    assert _codes(rest_fresh) != _codes(rest_a)


def test_export_of_some_patients() -> None:
    a = DetectionEngine()
    a.process(bp(0, 120, 80))
    assert set(a.export_state()) == {KEY}
    assert a.export_state([PatientKey("t", "nobody")]) == {}
    assert a.export_state([PatientKey("other", KEY.patient_id)]) == {}
