"""QRS detector and signal-quality internals: fast paths equal their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
from ecg_synth import synth_ecg
from scipy.ndimage import maximum_filter1d

from alerts.ecg.config import EcgConfig
from alerts.ecg.qrs import QrsDetector, _max_filter
from alerts.ecg.quality import Defect, QualityMonitor


@pytest.mark.parametrize("size", [1, 3, 101])
def test_sliding_max_equals_scipy_maximum_filter(size: int) -> None:
    x = np.random.default_rng(7).normal(size=500)
    assert np.array_equal(_max_filter(x, size), maximum_filter1d(x, size, mode="nearest"))


def test_candidate_slope_and_r_peak_follow_their_definitions() -> None:
    fs = 250.0
    det = QrsDetector(fs, EcgConfig())
    det.process(synth_ecg(fs, [0.8] * 12))
    cands = np.array([det._buf0 + det._back + 5, det._buf0 + det._back + 40])
    for c, got in zip(cands.tolist(), det._describe(cands), strict=True):
        win = det._bp[c - det._buf0 - det._back : c - det._buf0 + 1]
        assert got.slope == float(np.abs(np.diff(win)).max())
        assert got.r == c - det._back + int(np.abs(win).argmax()) - det._delay
        assert got.height == float(det._mwi[c - det._buf0])


def test_clipped_epoch_is_labelled_whatever_the_other_epochs() -> None:
    fs = 250.0
    x = synth_ecg(fs, [0.8] * 12)
    x[1000:1040] = x[1000:1250].max()  # 160 ms stuck at the top of epoch 4
    mon = QualityMonitor(fs, EcgConfig())
    labels = mon.process(x, x, final=True)
    assert labels[4] is Defect.CLIPPED
    assert Defect.CLIPPED not in labels[:4] + labels[5:]
