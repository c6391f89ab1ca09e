"""Multi-scale RR features: the vectorised window statistics equal their plain definitions,
and irregular RR scores as irregular."""

from __future__ import annotations

import numpy as np

from bench.rrfeatures import NAMES, SCALES, rr_features, window_distinct, window_mean


def test_window_mean_equals_mean_over_the_cut_window() -> None:
    x = np.random.default_rng(3).uniform(0.0, 1.0, 40)
    for w in (2, 8, 16):
        got = window_mean(x, w)
        for i in range(x.size):
            lo, hi = max(i - w // 2, 0), min(i + w // 2 + 1, x.size)
            assert abs(got[i] - x[lo:hi].mean()) < 1e-12


def test_window_distinct_equals_set_size_over_the_cut_window() -> None:
    codes = np.random.default_rng(4).integers(0, 6, 50)
    for w in (2, 8, 32):
        got = window_distinct(codes, w)
        for i in range(codes.size):
            lo, hi = max(i - w // 2, 0), min(i + w // 2 + 1, codes.size)
            assert abs(got[i] - len(set(codes[lo:hi].tolist())) / (hi - lo)) < 1e-12


def test_irregular_rr_scores_higher_than_sinus_with_ectopy() -> None:
    rng = np.random.default_rng(5)
    sinus = 0.8 + 0.01 * rng.standard_normal(400)
    sinus[50::20] *= 0.7  # premature beats followed by a compensatory pause
    sinus[51::20] *= 1.3
    af = rng.uniform(0.4, 1.0, 400)
    fs, fa = rr_features(sinus), rr_features(af)
    assert fs.shape == fa.shape == (400, len(NAMES))
    assert np.isfinite(fs).all()
    assert np.isfinite(fa).all()
    for w in SCALES:
        med, clean, ectopic = (NAMES.index(f"{n}{w}") for n in ("med", "clean08", "ectopic"))
        assert np.median(fa[:, med]) > 3 * np.median(fs[:, med])
        assert np.median(fa[:, clean]) > 0.5 > np.max(fs[:, clean])
        assert abs(np.mean(fs[100:300, ectopic]) - 0.1) < 0.02  # 2 of every 20 planted


def test_short_records_give_an_empty_row_per_interval() -> None:
    assert rr_features(np.array([0.8, 0.9])).shape == (2, len(NAMES))
