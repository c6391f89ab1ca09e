"""Causal filters with carried state, so a stream filtered in pieces equals one pass.

The QRS feature follows Pan & Tompkins (IEEE TBME 1985;32:230): band-pass, derivative, squaring
and moving-window integration. Every stage is a `scipy.signal.lfilter` call whose final state is
kept for the next block; the direct-form recursion does the same arithmetic whatever the block
boundaries, so the output is bit-identical to filtering the whole record at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

FloatArray = npt.NDArray[np.float64]


def _public_lfilter(
    b: FloatArray, a: FloatArray, x: FloatArray, axis: int, zi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    y, zf = signal.lfilter(b, a, x, axis=axis, zi=zi)
    return y, zf


def _direct_form() -> Callable[..., Any]:
    """The C recursion behind `scipy.signal.lfilter`, called without lfilter's argument checks
    and array-API dispatch, which cost about three times the filtering of a 1000-sample block.
    Falls back to `lfilter` itself if a SciPy version moves it (same arithmetic either way;
    `tests/alerts/ecg` checks the two agree bit for bit)."""
    try:
        from scipy.signal import _sigtools

        fn: Callable[..., Any] = _sigtools._linear_filter
    except (ImportError, AttributeError):  # pragma: no cover - depends on the SciPy version
        return _public_lfilter
    return fn


_linear_filter = _direct_form()


class StatefulFilter:
    """An IIR/FIR filter `b/a` run block by block; the first block initialises steady state."""

    __slots__ = ("_a", "_b", "_zi", "_zi_unit")

    def __init__(self, b: FloatArray, a: FloatArray) -> None:
        # Normalised to a[0] == 1, as lfilter does before its recursion.
        self._b = np.asarray(b, dtype=np.float64) / float(a[0])
        self._a = np.asarray(a, dtype=np.float64) / float(a[0])
        self._zi_unit = signal.lfilter_zi(self._b, self._a)
        self._zi: FloatArray | None = None

    def __call__(self, x: FloatArray) -> FloatArray:
        if self._zi is None:
            # Start as if the first value had always been there: no start-up transient.
            self._zi = self._zi_unit * x[0]
        y, self._zi = _linear_filter(self._b, self._a, x, -1, self._zi)
        out: FloatArray = y
        return out

    @property
    def nbytes(self) -> int:
        zi = 0 if self._zi is None else int(self._zi.nbytes)
        return int(self._b.nbytes + self._a.nbytes + self._zi_unit.nbytes) + zi


def band_pass(fs: float, low_hz: float, high_hz: float) -> StatefulFilter:
    """Second-order Butterworth band-pass (4 poles); the upper edge is capped below Nyquist."""
    high = min(high_hz, 0.45 * fs)
    b, a = signal.butter(2, [low_hz, high], btype="bandpass", fs=fs)
    return StatefulFilter(b, a)


def band_delay(fs: float, low_hz: float, high_hz: float) -> int:
    """Group delay (samples) of `band_pass` at the band centre, to place R peaks back in time."""
    high = min(high_hz, 0.45 * fs)
    b, a = signal.butter(2, [low_hz, high], btype="bandpass", fs=fs)
    centre = float(np.sqrt(low_hz * high))
    _, gd = signal.group_delay((b, a), w=[centre], fs=fs)
    return round(float(gd[0]))


_ANCHOR = 1 << 14  # the running sum of `QrsFeature` restarts exactly at multiples of this


class QrsFeature:
    """Band-passed ECG and its integrated squared slope (the Pan-Tompkins feature signal).

    The derivative is the central difference scaled to mV/s, so the feature is in (mV/s)^2 at any
    sampling rate and absolute floors mean the same thing at 125 Hz and at 1000 Hz. The
    derivative and integration keep their last inputs (and the running sum) as state and run as
    array slicing and `numpy.cumsum`, which compute every output from the same inputs in the same
    order whatever the blocks are.
    """

    __slots__ = ("_band", "_inv", "_n", "_scale", "_sum", "_tail_bp", "_tail_sq", "width")

    def __init__(self, fs: float, band_hz: tuple[float, float], integration_s: float) -> None:
        self._band = band_pass(fs, *band_hz)
        self._scale = fs / 2.0
        self.width = max(1, round(integration_s * fs))
        self._inv = 1.0 / self.width
        self._tail_bp: FloatArray | None = None
        self._tail_sq: FloatArray = np.zeros(self.width)  # the last `width` squared slopes
        self._sum = 0.0  # their running sum
        self._n = 0  # samples seen

    def __call__(self, mv: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return (band-passed signal, integrated feature) for the next block of millivolts.

        The moving-window integral is a running sum (add the newest squared slope, subtract the
        one leaving the window) done by `numpy.cumsum` from the carried sum: the same sequence
        of additions whatever the blocks. So that rounding cannot accumulate without bound, the
        sum is recomputed from the window itself at every `_ANCHOR`-th sample of the stream."""
        bp = self._band(mv)
        if self._tail_bp is None:
            self._tail_bp = np.full(2, bp[0])
        ext = np.concatenate((self._tail_bp, bp))
        self._tail_bp = ext[-2:].copy()
        d = ext[2:] - ext[:-2]
        d *= self._scale
        d *= d
        w = self.width
        sq = np.concatenate((self._tail_sq, d))  # sq[w + i] is sample i of this block
        step = sq[w:] - sq[:-w]
        first = (-self._n) % _ANCHOR
        if first >= step.size:  # the usual case: no anchor in this block
            if step.size:
                step[0] += self._sum
            total = np.cumsum(step)
        else:
            total = self._anchored(sq, step, first)
        if total.size:
            self._sum = float(total[-1])
        self._tail_sq = sq[sq.size - w :].copy()
        self._n += mv.size
        mwi: FloatArray = total * self._inv
        return bp, mwi

    def _anchored(self, sq: FloatArray, step: FloatArray, first: int) -> FloatArray:
        """Running sums of a block that contains anchors: restart from the window's own sum at
        each one, and carry on with `numpy.cumsum` in between."""
        w = self.width
        total = np.empty(step.size)
        lo, run = 0, self._sum
        for a in range(first, step.size, _ANCHOR):
            if a > lo:
                step[lo] += run
                np.cumsum(step[lo:a], out=total[lo:a])
            run = float(sq[a + 1 : a + w + 1].sum())
            total[a] = run
            lo = a + 1
        if step.size > lo:
            step[lo] += run
            np.cumsum(step[lo:], out=total[lo:])
        return total

    @property
    def nbytes(self) -> int:
        tail = 0 if self._tail_bp is None else self._tail_bp.nbytes
        return self._band.nbytes + self._tail_sq.nbytes + tail + 32
