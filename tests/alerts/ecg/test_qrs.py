"""QRS detector and signal-quality internals: fast paths equal their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d

from alerts.ecg.config import EcgConfig
from alerts.ecg.qrs import QrsDetector, _max_filter
from alerts.ecg.quality import Defect, QualityMonitor
from tests.alerts.ecg.ecg_synth import synth_ecg


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


def _beats(x: np.ndarray, fs: float, config: EcgConfig | None = None) -> np.ndarray:
    det = QrsDetector(fs, config or EcgConfig())
    out = [det.process(x[i : i + 1000])[1] for i in range(0, x.size, 1000)]
    return np.concatenate([*out, det.process(np.empty(0), final=True)[1]])


def _bumps(fs: float, n: int, at: np.ndarray, width_s: float, mv: float) -> np.ndarray:
    t = np.arange(n) / fs
    return sum((mv * np.exp(-((t - a) ** 2) / (2 * width_s**2)) for a in at), np.zeros(n))


def test_shallow_premature_bumps_in_noise_are_not_beats_with_the_screen() -> None:
    """The optional ectopic-or-noise screen, with the split search off (Pan & Tompkins' own
    search-back floor): shallow bumps in noise are set aside."""
    fs, rr = 250.0, [0.9] * 40
    x = synth_ecg(fs, rr, noise=0.08, seed=4)
    beats = np.cumsum([0.5, *rr])
    x += _bumps(fs, x.size, beats[:-1] + 0.5, 0.025, 0.7)  # slow bumps 0.5 s after each beat
    cfg = EcgConfig(ectopic_screen=True, split_frac=None, searchback_floor=0.5)
    found = _beats(x, fs, cfg) / fs
    near = np.abs(found[:, None] - beats[None, :]).min(axis=1) < 0.15
    assert near.sum() >= beats.size - 1
    assert (~near).sum() <= 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wide_premature_beats_in_bigeminy_are_all_found(seed: int) -> None:
    """Wide, low-slope premature beats after every normal beat (ventricular bigeminy): their
    feature peak is below the threshold the narrow beats set, and without the split search the
    detector settles on the normal beats alone (half the rate)."""
    fs, rr = 250.0, [1.0] * 40
    x = synth_ecg(fs, rr, noise=0.02, seed=seed)
    normal = np.cumsum([0.5, *rr])
    ectopic = normal[:-1] + 0.45
    x += _bumps(fs, x.size, ectopic, 0.025, 0.5)
    beats = np.sort(np.concatenate((normal, ectopic)))
    found = _beats(x, fs) / fs
    hit = np.abs(beats[:, None] - found[None, :]).min(axis=1) < 0.15
    assert hit[4:].all()  # after the first few beats (threshold learning)
    assert found.size <= beats.size
    half = _beats(x, fs, EcgConfig(split_frac=None)) / fs
    assert half.size < 0.8 * beats.size


def test_premature_beats_of_normal_shape_are_kept_in_noise() -> None:
    fs = 250.0
    rr = [0.9, 0.9, 0.5, 1.3] * 12  # atrial premature beats every fourth beat
    x = synth_ecg(fs, rr, noise=0.08, seed=5)
    beats = np.cumsum([0.5, *rr])
    found = _beats(x, fs) / fs
    hit = np.abs(beats[:, None] - found[None, :]).min(axis=1) < 0.15
    assert hit.all()
