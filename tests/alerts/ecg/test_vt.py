"""Ventricular tachycardia runs from beat classes."""

from __future__ import annotations

import pytest

from alerts.ecg.vt import VtRuns


def test_vt_runs_rules() -> None:
    fs = 100.0
    runs = VtRuns(fs)
    beats = [0, 40, 80, 120, 200, 240, 280, 400, 440, 480]
    labels = ["V", "V", "V", "V", "N", "V", "V", "V", "V", "V"]
    alike = [True] * 10
    alike[8] = False  # an unlike complex breaks the run: 400..440 is two beats only
    runs.add(beats, labels, alike)
    runs.finish()
    _, closed = runs.log.take()
    assert [(e.start, e.end) for e in closed] == [(0, 120)]
    assert closed[0].mean_hr == pytest.approx(150.0)
    # A slow interval (0.65 s) ends a run too.
    runs = VtRuns(fs)
    runs.add([0, 50, 115, 160, 205], ["V"] * 5, [True] * 5)
    runs.finish()
    _, closed = runs.log.take()
    assert [(e.start, e.end) for e in closed] == [(115, 205)]


def test_a_run_no_wider_than_the_usual_complex_is_not_vt() -> None:
    fs = 100.0
    beats = [0, 40, 80, 120, 300, 340, 380, 420]
    labels = ["V"] * 8
    alike = [False, True, True, True, False, True, True, True]
    # The first run's complexes are narrower than the template (flutter, aberrancy), the
    # second one's wider.
    width = [-0.5, -0.4, -0.3, 0.2, 0.3, 0.4, 0.3, 0.2]
    runs = VtRuns(fs, min_width=0.0)
    runs.add(beats, labels, alike, [0.9] * 8, width)
    runs.finish()
    _, closed = runs.log.take()
    assert [(e.start, e.end) for e in closed] == [(300, 420)]
    # Without the check both runs count.
    runs = VtRuns(fs)
    runs.add(beats, labels, alike, [0.9] * 8, width)
    runs.finish()
    assert len(runs.log.take()[1]) == 2


def test_a_run_opens_once_its_mean_confidence_is_reached() -> None:
    fs = 100.0
    runs = VtRuns(fs, min_conf=0.6)
    runs.add([0, 40, 80], ["V"] * 3, [False, True, True], [0.9, 0.3, 0.3])
    assert runs.log.current() == []  # mean 0.5: not yet VT
    assert runs.rate is None
    runs.add([120], ["V"], [True], [0.9])  # mean 0.6: VT from the run's first beat
    opened = runs.log.current()
    assert [e.start for e in opened] == [0]
    assert runs.rate == pytest.approx(150.0)
