"""Causal filters with carried state, so a stream filtered in pieces equals one pass.

The QRS feature follows Pan & Tompkins (IEEE TBME 1985;32:230): band-pass, derivative, squaring
and moving-window integration. Every stage is the direct-form recursion of
`scipy.signal.lfilter`, whose final state is kept for the next block; the recursion does the same
arithmetic whatever the block boundaries, so the output is bit-identical to filtering the whole
record at once.

Start-up cost: importing `scipy.signal` takes most of a second, longer than analysing a short
record. So this module does not: the filters are designed by `butter2` (the steps of
`scipy.signal.butter` for the second-order band-pass and high-pass used here, the same numpy
operations in the same order, so the same coefficients bit for bit), and the two C routines the
analyser needs (the recursion and the sliding maximum of `alerts.ecg.qrs`) are loaded from
SciPy's extension modules alone (`scipy_routine`), without the packages' `__init__`. Tests check
both against the public SciPy functions; if a SciPy version moves them, the public functions are
imported instead (same arithmetic, slower start).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


def _extension(package: str, name: str) -> ModuleType | None:
    """SciPy's compiled module `scipy.<package>.<name>`, loaded from its file without running
    `scipy/<package>/__init__.py` (None if it is not where SciPy keeps it)."""
    spec = importlib.util.find_spec("scipy")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / package
    full = f"scipy.{package}.{name}"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(full, str(path))
            mod_spec = importlib.util.spec_from_file_location(full, path, loader=loader)
            if mod_spec is None:
                return None
            module = importlib.util.module_from_spec(mod_spec)
            loader.exec_module(module)
            return module
    return None


def scipy_routine(package: str, name: str, attr: str) -> Callable[..., Any] | None:
    """`scipy.<package>.<name>.<attr>` from the extension file alone, or None."""
    try:
        module = _extension(package, name)
    except ImportError:  # pragma: no cover - depends on the SciPy build
        return None
    fn = getattr(module, attr, None) if module is not None else None
    return fn if callable(fn) else None


def _public_lfilter(
    b: FloatArray, a: FloatArray, x: FloatArray, axis: int, zi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    from scipy import signal

    y, zf = signal.lfilter(b, a, x, axis=axis, zi=zi)
    return y, zf


# The C recursion behind `scipy.signal.lfilter`, called without lfilter's argument checks and
# array-API dispatch, which cost about three times the filtering of a 1000-sample block.
_linear_filter: Callable[..., Any] = (
    scipy_routine("signal", "_sigtools", "_linear_filter") or _public_lfilter
)


def _poly(zeros: npt.NDArray[Any]) -> FloatArray:
    """Polynomial coefficients from its roots, as `scipy.signal`'s `poly` computes them (real
    when the complex roots come in conjugate pairs)."""
    a: npt.NDArray[Any] = np.ones((1,), dtype=zeros.dtype)
    one = np.ones_like(zeros[0])
    for zero in zeros:
        a = np.convolve(a, np.stack((one, -zero)), mode="full")
    if np.iscomplexobj(a):
        roots = np.asarray(zeros, dtype=np.complex128)
        if np.all(np.sort(np.imag(roots)) == np.sort(np.imag(np.conj(roots)))):
            a = np.asarray(np.real(a), copy=True)
    out: FloatArray = a
    return out


def butter2(fs: float, low_hz: float | None, high_hz: float) -> tuple[FloatArray, FloatArray]:
    """`scipy.signal.butter(2, [low_hz, high_hz], "bandpass", fs=fs)`, or with `low_hz` None
    `butter(2, high_hz, "highpass", fs=fs)`: (b, a), the same steps (analogue prototype,
    pre-warping, band transform, bilinear transform) with the same numpy operations."""
    n = 2
    m = np.arange(-n + 1, n, 2, dtype=np.float64)
    p: ComplexArray = -np.exp(1j * np.pi * m / (2 * n))  # Butterworth prototype poles
    k = 1.0
    wn = np.asarray(high_hz if low_hz is None else [low_hz, high_hz], dtype=np.float64)
    wn = wn / (fs / 2)
    if np.any(wn <= 0) or np.any(wn >= 1) or (wn.size > 1 and not wn[0] < wn[1]):
        raise ValueError(f"filter edges {low_hz}, {high_hz} Hz must lie in (0, {fs / 2})")
    warped = 2 * 2.0 * np.tan(np.pi * wn / 2.0)
    fs2 = 2.0 * 2.0
    if low_hz is None:  # lp2hp_zpk, then bilinear_zpk
        wo = float(warped)
        z_a = np.zeros(2)
        p_a = wo / p
        k_a = k * np.real(np.prod(-np.asarray([], dtype=np.float64)) / np.prod(-p))
        z_d: npt.NDArray[Any] = (fs2 + z_a) / (fs2 - z_a)
        degree = 0
    else:  # lp2bp_zpk, then bilinear_zpk
        bw = float(warped[1] - warped[0])
        wo = float(np.sqrt(warped[0] * warped[1]))
        p_lp = np.asarray(p * bw / 2, dtype=np.complex128)
        root = np.sqrt(p_lp**2 - wo**2)
        p_a = np.concatenate((p_lp + root, p_lp - root))
        z_a = np.concatenate((np.empty(0, dtype=np.complex128), np.zeros(2)))
        k_a = k * bw**2
        z_d = (fs2 + z_a) / (fs2 - z_a)
        degree = 2
    p_d = (fs2 + p_a) / (fs2 - p_a)
    z_d = np.concatenate((z_d, -np.ones(degree)))
    k_d = k_a * np.real(np.prod(fs2 - z_a) / np.prod(fs2 - p_a))
    b = np.multiply(np.atleast_1d(np.asarray(k_d, dtype=np.float64)), _poly(z_d))
    a = _poly(p_d)
    return b, a


def lfilter_zi(b: FloatArray, a: FloatArray) -> FloatArray:
    """`scipy.signal.lfilter_zi` for `a[0] == 1` and `len(a) == len(b)`: the filter state of a
    step response in steady state."""
    if a[0] != 1.0 or a.size != b.size:
        raise ValueError("lfilter_zi here needs a normalised a of the length of b")
    n = a.size
    companion = np.zeros((n - 1, n - 1))
    companion[0, :] = -a[1:] / (1.0 * a[0:1])
    companion[np.arange(1, n - 1), np.arange(0, n - 2)] = 1
    i_minus_a = np.eye(n - 1) - companion.T
    zi: FloatArray = np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
    return zi


class StatefulFilter:
    """An IIR/FIR filter `b/a` run block by block; the first block initialises steady state."""

    __slots__ = ("_a", "_b", "_zi", "_zi_unit")

    def __init__(self, b: FloatArray, a: FloatArray) -> None:
        # Normalised to a[0] == 1, as lfilter does before its recursion.
        self._b = np.asarray(b, dtype=np.float64) / float(a[0])
        self._a = np.asarray(a, dtype=np.float64) / float(a[0])
        self._zi_unit = lfilter_zi(self._b, self._a)
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
    b, a = butter2(fs, low_hz, high)
    return StatefulFilter(b, a)


def group_delay(b: FloatArray, a: FloatArray, hz: float, fs: float) -> float:
    """Group delay (samples) of the filter `b/a` at `hz`, as `scipy.signal.group_delay`."""
    w = np.atleast_1d(np.asarray([hz], dtype=np.float64))
    w = 2 * math.pi * w / fs
    c = np.convolve(b, np.conjugate(a[::-1]))
    cr = c * np.arange(c.size)
    z = np.exp(-1j * w)
    gd = np.real(np.polyval(cr[::-1], z) / np.polyval(c[::-1], z)) - a.size + 1
    return float(gd[0])


def band_delay(fs: float, low_hz: float, high_hz: float) -> int:
    """Group delay (samples) of `band_pass` at the band centre, to place R peaks back in time."""
    high = min(high_hz, 0.45 * fs)
    b, a = butter2(fs, low_hz, high)
    centre = float(np.sqrt(low_hz * high))
    return round(group_delay(b, a, centre, fs))


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
            total = step.cumsum()
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
