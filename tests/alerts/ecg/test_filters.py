"""The filter designs and C routines the analyser uses without importing `scipy.signal`: the same
coefficients and outputs as the public SciPy functions, bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage, signal

from alerts.ecg.filters import (
    _linear_filter,
    _public_lfilter,
    band_delay,
    butter2,
    group_delay,
    lfilter_zi,
    scipy_routine,
)
from alerts.ecg.qrs import _max_filter, _public_max_filter

# Sampling rates of real devices and records, and odd ones (the accepted range is 125-1000 Hz).
RATES = [125.0, 128.0, 200.0, 250.0, 256.0, 300.0, 360.0, 500.0, 512.0, 1000.0, 173.3, 977.7]


@pytest.mark.parametrize("fs", RATES)
def test_butter2_equals_scipy_butter(fs: float) -> None:
    for low, high in ((5.0, 15.0), (0.5, min(40.0, 0.45 * fs)), (1.0, 0.45 * fs)):
        b, a = butter2(fs, low, high)
        b_ref, a_ref = signal.butter(2, [low, high], btype="bandpass", fs=fs)
        assert np.array_equal(b, b_ref)
        assert np.array_equal(a, a_ref)
    hp = min(40.0, 0.4 * fs)
    b, a = butter2(fs, None, hp)
    b_ref, a_ref = signal.butter(2, hp, btype="highpass", fs=fs)
    assert np.array_equal(b, b_ref)
    assert np.array_equal(a, a_ref)


@pytest.mark.parametrize("fs", RATES)
def test_lfilter_zi_and_group_delay_equal_scipy(fs: float) -> None:
    for low, high in ((5.0, 15.0), (0.5, min(40.0, 0.45 * fs))):
        b, a = butter2(fs, low, high)
        assert np.array_equal(lfilter_zi(b, a), signal.lfilter_zi(b, a))
        centre = float(np.sqrt(low * high))
        _, gd = signal.group_delay((b, a), w=[centre], fs=fs)
        assert group_delay(b, a, centre, fs) == float(gd[0])
    b, a = signal.butter(2, [5.0, 15.0], btype="bandpass", fs=fs)
    _, gd = signal.group_delay((b, a), w=[np.sqrt(75.0)], fs=fs)
    assert band_delay(fs, 5.0, 15.0) == round(float(gd[0]))


def test_butter2_refuses_edges_outside_nyquist() -> None:
    with pytest.raises(ValueError, match="must lie in"):
        butter2(250.0, 5.0, 125.0)
    with pytest.raises(ValueError, match="must lie in"):
        butter2(250.0, 20.0, 10.0)


def test_routines_loaded_from_extensions_equal_the_public_functions() -> None:
    assert scipy_routine("signal", "_sigtools", "_linear_filter") is not None
    assert _linear_filter is not _public_lfilter
    rng = np.random.default_rng(7)
    x = rng.normal(size=4000)
    b, a = butter2(360.0, 5.0, 15.0)
    zi = lfilter_zi(b, a) * x[0]
    y, zf = _linear_filter(b, a, x, -1, zi)
    y_ref, zf_ref = signal.lfilter(b, a, x, zi=zi)
    assert np.array_equal(y, y_ref)
    assert np.array_equal(zf, zf_ref)
    for size in (3, 51, 101, 4001):
        want = ndimage.maximum_filter1d(x, size, mode="nearest")
        assert np.array_equal(_max_filter(x, size), want)
        assert np.array_equal(_public_max_filter(x, size), want)
    assert scipy_routine("signal", "_no_such_module", "f") is None


def test_ecg_analysis_imports_no_scipy_package() -> None:
    """Start-up: the analyser must not pull in `scipy.signal` or `scipy.ndimage` (most of a
    second of imports); it only loads their two compiled routines."""
    code = (
        "import sys, alerts.ecg, alerts.ecg.filters, alerts.ecg.qrs; "
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "['scipy.ndimage._nd_image', 'scipy.signal._sigtools']"
