"""Per-beat features against the template, and the logistic model's call on them."""

from __future__ import annotations

import math

import numpy as np

from alerts.ecg.beatmodel import (
    FEATURES,
    UNLIKE,
    features,
    is_ventricular,
    morphology,
    qrs_width,
    template_stats,
)
from alerts.ecg.classifier import BeatClassifier

FS = 250.0
PRE = 25  # R sample in a 0.25 s window at 250 Hz (100 ms before the peak)


def narrow_beat() -> np.ndarray:
    t = np.arange(64) - PRE
    x = np.exp(-(t**2) / (2 * 3.0**2))  # a sharp upright QRS
    out: np.ndarray = x - x.mean()
    return out


def wide_beat() -> np.ndarray:
    t = np.arange(64) - PRE - 4
    x = -1.8 * np.exp(-(t**2) / (2 * 9.0**2))  # wide, larger, inverted
    out: np.ndarray = x - x.mean()
    return out


def group_features(rows: list[np.ndarray], tpl: np.ndarray, log_rr: list[float]) -> np.ndarray:
    x = np.array(rows)
    corr, _norm, ratios, pol = morphology(
        x, (x * x).sum(axis=1), tpl, template_stats(tpl, PRE), PRE
    )
    k = len(rows)
    unit = x / np.sqrt((x * x).sum(axis=1))[:, None]
    prev_corr = np.concatenate(([1.0], (unit[1:] * unit[:-1]).sum(axis=1)))
    rr = np.asarray(log_rr)
    t_width = float(qrs_width(tpl[None, :])[0])
    return features(
        corr, np.ones(k), ratios, pol, rr, np.zeros((2, k)), x, t_width, prev_corr, rr[:-1], -5.0
    )


def test_a_beat_like_the_template_has_neutral_features() -> None:
    tpl = narrow_beat()
    f = group_features([tpl, tpl], tpl, [0.0, 0.0, 0.0])
    assert f.shape == (len(FEATURES), 2)
    named = dict(zip(FEATURES, f[:, 0], strict=True))
    assert math.isclose(named["unlike"], math.log(UNLIKE - 1.0), rel_tol=1e-6)
    for name in ("energy", "spread", "slope", "polarity", "pre", "post", "width", "local_rr"):
        assert abs(named[name]) < 1e-9, name
    assert is_ventricular(f) == [False, False]


def test_wide_premature_beat_with_a_pause_is_ventricular() -> None:
    tpl = narrow_beat()
    # The second beat is wide, inverted, early (RR 0.6 of the reference) and followed by a pause.
    f = group_features([tpl, wide_beat(), tpl], tpl, [0.0, math.log(0.6), math.log(1.4), 0.0])
    named = {name: f[i] for i, name in enumerate(FEATURES)}
    assert named["unlike"][1] > named["unlike"][0]
    assert named["spread"][1] > 0.3  # a wide QRS spreads its area
    assert named["pre"][1] < 0 < named["post"][1]
    assert named["width"][1] > 0.3  # its energy spreads over more samples
    assert named["prev_unlike"][1] > named["prev_unlike"][0]
    assert named["unlike_rel"][1] > 4.0  # far above a clean stretch's level
    assert is_ventricular(f) == [False, True, False]


def test_template_stats_are_those_the_features_compare_with() -> None:
    tpl = narrow_beat()
    norm, spread, slope, pol = template_stats(tpl, PRE)
    assert math.isclose(norm, float(np.sqrt(tpl @ tpl)), rel_tol=1e-6)
    assert math.isclose(spread, float(np.abs(tpl).sum() / np.abs(tpl).max()), rel_tol=1e-6)
    assert slope > 0
    assert math.isclose(pol, float(tpl[PRE] / np.abs(tpl).max()), rel_tol=1e-6)


def test_classifier_learns_the_template_and_labels_the_odd_beat() -> None:
    """The classifier's own template (first group) and a later ectopic beat, end to end."""
    clf = BeatClassifier(FS)
    beats, rows = [], []
    for i in range(40):
        beats.append(200 + i * 200 - (80 if i == 30 else 0))
        rows.append(wide_beat() if i == 30 else narrow_beat())
    x = np.array(rows)
    ones: list[float | None] = [1.0] * len(beats)
    flags = [False] * len(beats)
    clf.add(beats, x, list(range(len(beats))), ones, flags, flags)
    got, labels = clf.take(final=True)
    assert got == beats
    assert labels[30] == "V"
    assert labels[20:30] == ["N"] * 10
    assert labels[31:] == ["N"] * 9


def test_qrs_width_grows_with_the_complex() -> None:
    w = qrs_width(np.array([narrow_beat(), wide_beat()]))
    assert 2 < w[0] < w[1]
