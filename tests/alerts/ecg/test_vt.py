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
