"""Template-relative morphology and RR-ratio features of the alternative ventricular-beat models."""

from __future__ import annotations

import math

import numpy as np

from bench.vebshape import (
    LOCAL_BEATS,
    RR,
    SCALARS,
    haar_approx,
    rr_features,
    shape_features,
    shape_names,
)

PRE = 25


def beat(width: float, amp: float = 1.0, n: int = 63) -> np.ndarray:
    t = np.arange(n) - PRE
    x = amp * np.exp(-(t**2) / (2 * width**2))
    out: np.ndarray = x - x.mean()
    return out


def test_haar_approx_is_block_sums_and_keeps_energy_of_block_constant_rows() -> None:
    x = np.repeat(np.arange(4.0), 8)[None, :]  # 32 samples, constant in each block of 8
    a = haar_approx(x, 3)
    assert a.shape == (1, 4)
    np.testing.assert_allclose(a[0], np.arange(4.0) * 8 / math.sqrt(8))
    assert math.isclose(float((a * a).sum()), float((x * x).sum()))


def test_haar_approx_pads_with_the_last_value() -> None:
    x = np.ones((2, 10))
    a = haar_approx(x, 2)  # 10 -> 12 samples, 3 blocks of 4
    np.testing.assert_allclose(a, np.full((2, 3), 2.0))


def test_a_beat_equal_to_its_template_has_neutral_features() -> None:
    t = beat(3.0)
    f = shape_features(np.stack((t, 2 * t)), np.stack((t, t)))
    names = shape_names(t.size)
    assert f.shape == (2, len(names))
    k = names.index("rel0")
    np.testing.assert_allclose(f[0, :k], 0.0, atol=1e-12)  # no difference to the template
    same = f[0, len(names) - len(SCALARS) :]
    np.testing.assert_allclose(same, [1.0, 0, 0, 0, 0, 0], atol=1e-9)
    twice = dict(zip(SCALARS, f[1, len(names) - len(SCALARS) :].tolist(), strict=True))
    assert math.isclose(twice["corr"], 1.0)
    assert math.isclose(twice["energy"], math.log(2.0))
    assert math.isclose(twice["area"], math.log(2.0))
    assert twice["width"] == 0.0


def test_a_wide_beat_is_wider_and_differs_from_the_template() -> None:
    t = beat(3.0)
    f = shape_features(beat(9.0)[None, :], t[None, :])
    names = shape_names(t.size)
    s = dict(zip(SCALARS, f[0, len(names) - len(SCALARS) :].tolist(), strict=True))
    assert s["width"] > 0.5
    assert s["corr"] < 0.9
    assert float(np.abs(f[0, : names.index("rel0")]).sum()) > 0.1


def test_features_do_not_depend_on_the_patients_amplitude() -> None:
    t, x = beat(3.0), beat(6.0, 1.5)
    a = shape_features(x[None, :], t[None, :])
    b = shape_features(4 * x[None, :], 4 * t[None, :])
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_rr_of_a_premature_beat_with_pause() -> None:
    fs = 100.0
    rr = np.full(30, 100.0)
    rr[20], rr[21] = 60.0, 140.0  # beat 21 comes early, a pause follows
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    f = rr_features(beats, fs)
    assert f.shape == (beats.size, len(RR))
    r = dict(zip(RR, f[21].tolist(), strict=True))
    assert math.isclose(r["pre_local"], math.log(0.6))
    assert math.isclose(r["post_local"], math.log(1.4))
    assert math.isclose(r["post_pre"], math.log(140 / 60))
    np.testing.assert_allclose(f[5], 0.0, atol=1e-12)  # a regular beat: every ratio 1


def test_rr_averages_are_over_the_intervals_before_the_beat() -> None:
    fs = 10.0
    rr = np.concatenate((np.full(LOCAL_BEATS, 20.0), np.full(LOCAL_BEATS, 10.0)))
    beats = np.concatenate(([0.0], np.cumsum(rr)))
    f = rr_features(beats, fs)
    r = dict(zip(RR, f[-1].tolist(), strict=True))
    # the 10 intervals before the last beat's own: one of 20, nine of 10
    assert math.isclose(r["pre_local"], math.log(10 / 11.0))
    # all 20 before it (the first beat's interval before is taken as its interval after)
    assert math.isclose(r["local_long"], math.log(11.0 / 15.5))


def test_rr_of_short_sequences() -> None:
    assert rr_features(np.array([5.0]), 250.0).shape == (1, len(RR))
    np.testing.assert_allclose(rr_features(np.array([0.0, 250.0]), 250.0), 0.0)
