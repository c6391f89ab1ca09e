"""Streaming QRS detection: adaptive thresholds, T-wave rejection, search-back, R refinement.

The decision logic follows Pan & Tompkins (IEEE TBME 1985;32:230): signal and noise peak levels
`spk`/`npk` tracked by exponential averaging, a detection threshold a quarter of the way from noise
to signal, a 200 ms refractory period, T-wave rejection by slope within 360 ms of a beat, and a
search-back when no beat came for 1.66 mean RR intervals. Premature ventricular and aberrant
beats are often wide with a lower slope, so their feature peak falls below a threshold set by the
dominant beats; after a premature beat the compensatory pause is too short for the search-back,
and in bigeminy the detector can settle on half the rate. Two additions recover them (settings
and their cross-validation in `EcgConfig.split_frac`): the search-back takes candidates down to
`searchback_floor` of the threshold, and each accepted beat triggers a search of the interval
since the previous beat for a set-aside candidate far enough from both to be a beat, not a T
wave (`QrsDetector._split`). An optional screen sets aside premature, small and shallow
candidates in noisy stretches (see `NOISY_NPK`; off by default).

Chunk independence: a peak candidate at sample `i` is a local maximum of the integrated feature
over `i - W .. i + W`, so it is decided only once `W` samples of look-ahead have arrived, and
candidates are judged strictly in time order. A search-back over `(anchor, limit]` runs after every
candidate up to `limit` and before any later one, whichever block boundary triggers it. The
output therefore does not depend on how the samples were chunked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from alerts.ecg.config import EcgConfig
from alerts.ecg.filters import FloatArray, QrsFeature, band_delay, scipy_routine

IntArray = npt.NDArray[np.int64]
# The reductions themselves (`arr.max(axis=...)` adds a Python wrapper around the same call).
_max = np.maximum.reduce
_min = np.minimum.reduce

# A beat needs at least this feature height, in (mV/s)^2: about a 0.1 mV QRS. Below it the
# signal is taken as flat and thresholds cannot decay into quantisation noise.
MIN_PEAK = 0.5
_RR_HISTORY = 8

# Ectopic-or-noise screen (`QrsDetector._unlike_beat`). Pan & Tompkins reject a candidate as a
# T wave when it comes within 360 ms of a beat with less than half that beat's slope; in noise
# (motion artefact, EMG) and with tall T waves, shallow bumps also pass the threshold later than
# 360 ms. A candidate is set aside as noise when all of these hold: the noise peak level `npk` is
# above `NOISY_NPK` of the signal level `spk` (on clean MIT-BIH and SVDB records it stays near
# 0.01-0.08: T waves and P waves only); it comes before `PREMATURE` of the mean RR interval (the
# usual prematurity cut for ectopic beats is 80-90 % of the preceding RR, so this is stricter);
# its feature peak is below `SMALL` of `spk`; and its steepest slope is below `SLOPE_FRAC` of the
# last beat's. A premature beat of normal morphology (APB, SVE) keeps the QRS slope and passes; a
# wide PVC has a large feature peak. A set-aside candidate stays available to the search-back, so
# a real ectopic beat followed by a compensatory pause (about 2 RR) is recovered there. The
# screen is off after a beat that came late (after `LATE` mean RR: that beat may be noise that
# displaced the real one) and for the interval right after one it fired in, so that it cannot
# settle on half the true rate. Values chosen on MIT-BIH 105 (noise) with 100/800 and CinC 2017
# as checks that premature beats and AF beats are kept.
NOISY_NPK = 0.1
PREMATURE = 0.75
SMALL = 0.85
SLOPE_FRAC = 0.8
LATE = 1.2


def _public_max_filter(x: FloatArray, size: int) -> FloatArray:
    from scipy.ndimage import maximum_filter1d

    out: FloatArray = maximum_filter1d(x, size, mode="nearest")
    return out


def _sliding_max() -> Callable[[FloatArray, int], FloatArray]:
    """Sliding maximum (edges repeat the end values) by the C routine behind
    `scipy.ndimage.maximum_filter1d`, without the wrapper's argument handling, which costs more
    than the filtering of a block, and without importing `scipy.ndimage` (see
    `alerts.ecg.filters`); falls back to the public function if SciPy moves it."""
    fn = scipy_routine("ndimage", "_nd_image", "min_or_max_filter1d")
    if fn is None:  # pragma: no cover - depends on the SciPy version
        return _public_max_filter
    nearest = 0  # scipy.ndimage's mode code of "nearest"

    def sliding_max(x: FloatArray, size: int) -> FloatArray:
        out = np.empty_like(x)
        fn(x, size, 0, out, nearest, 0.0, 0, 0)
        return out

    return sliding_max


_max_filter = _sliding_max()


class _Candidate(NamedTuple):
    idx: int  # feature-peak sample
    height: float
    r: int  # refined R-peak sample
    slope: float


class QrsDetector:
    """Feed band-passed blocks via `process`; read beats from the returned arrays."""

    def __init__(self, fs: float, config: EcgConfig) -> None:
        self.fs = fs
        self._feature = QrsFeature(fs, config.band_hz, config.integration_s)
        self._half = max(1, round(config.refractory_s * fs))
        self._back = self._feature.width + round(0.05 * fs)
        self._offsets = np.arange(-self._back, 1)[None, :]
        self._delay = band_delay(fs, *config.band_hz)
        self._twave = round(config.twave_s * fs)
        self._sb_factor = config.searchback_factor
        self._sb_floor = config.searchback_floor
        self._split_frac = config.split_frac
        self._split_slope = config.split_slope
        self._screen_on = config.ectopic_screen
        self._learn = max(1, round(config.learn_s * fs))
        self._bp: FloatArray = np.empty(0)
        self._mwi: FloatArray = np.empty(0)
        self._buf0 = 0  # absolute index of the buffers' first sample
        self.received = 0
        self._cursor = 0  # candidates before this sample have been judged
        self._learned = False
        self._spk = 0.0
        self._npk = 0.0
        self._thr = 0.0
        self._rr: deque[int] = deque(maxlen=_RR_HISTORY)
        self._rr_sum = 0  # sum of `_rr`
        self._rr_mean = fs
        self._last: _Candidate | None = None
        self._last_r = -(10**9)
        self._last_gap = 0  # interval before the last beat (feature samples)
        self._screen = True  # `_unlike_beat` may set candidates aside in this interval
        self._vetoed = False  # it did since the last beat
        self._anchor = 0
        self._limit = 0
        self._pending: list[_Candidate] = []
        self._out: list[int] = []

    # -- public -------------------------------------------------------------------------------

    def process(self, mv: FloatArray, *, final: bool = False) -> tuple[FloatArray, IntArray]:
        """Filter a block, judge every candidate that now has its look-ahead; return the
        band-passed block (for quality checks) and the new beats (absolute R-peak samples)."""
        if mv.size:
            bp, feat = self._feature(mv)
            self._bp = np.concatenate((self._bp, bp))
            self._mwi = np.concatenate((self._mwi, feat))
            self.received += mv.size
        else:
            bp = np.empty(0)
        end = self.received if final else self.received - self._half
        if not self._learned:
            if self.received < self._learn + self._half and not final:
                return bp, np.empty(0, np.int64)
            self._start()
        if end > self._cursor:
            self._judge_until(end, final=final)
        out = np.asarray(self._out, dtype=np.int64)
        self._out = []
        self._trim()
        return bp, out

    @property
    def final_until(self) -> int:
        """Every beat before this sample has been reported; no earlier beat can still appear."""
        if not self._learned:
            return 0
        return max(0, min(self._anchor + 1, self._cursor) - self._back - self._delay)

    @property
    def nbytes(self) -> int:
        return self._bp.nbytes + self._mwi.nbytes + self._feature.nbytes + 64 * len(self._pending)

    # -- internals ----------------------------------------------------------------------------

    def _start(self) -> None:
        learn = self._mwi[: self._learn]
        self._spk = 0.5 * float(learn.max()) if learn.size else MIN_PEAK
        self._npk = 0.5 * float(learn.mean()) if learn.size else 0.0
        self._update_threshold()
        self._learned = True
        self._anchor = 0
        self._limit = round(self._sb_factor * self._rr_mean)

    def _update_threshold(self) -> None:
        self._thr = max(self._npk + 0.25 * (self._spk - self._npk), MIN_PEAK)

    def _judge_until(self, end: int, *, final: bool) -> None:
        half = self._half
        lo = max(self._cursor - half, self._buf0)
        hi = min(end + half, self.received)
        seg = self._mwi[lo - self._buf0 : hi - self._buf0]
        peak = _max_filter(seg, 2 * half + 1)
        first = max(self._cursor - lo, 1)
        stop = end - lo
        here = seg[first:stop]
        is_cand = (here == peak[first:stop]) & (here > seg[first - 1 : stop - 1])
        cands = is_cand.nonzero()[0]
        if cands.size:
            for c in self._describe(cands + (first + lo)):
                while c.idx > self._limit:
                    self._search_back()
                self._judge(c)
        while end > self._limit:
            self._search_back()
        self._cursor = end

    def _describe(self, cands: IntArray) -> list[_Candidate]:
        """Heights, refined R peaks and QRS slopes of candidates, vectorised over the block: the
        R peak is the largest |band-passed| sample in the `_back` samples up to the feature
        peak, the slope the largest |step| between neighbouring samples there."""
        rel = cands - self._buf0
        idx = rel[:, None] + self._offsets
        # The R sample of each window, relative to the buffer: window start plus its argmax.
        at = rel - self._back
        if rel[0] < self._back:  # only near the start of the stream
            np.maximum(idx, 0, out=idx)
        win = self._bp[idx]
        at += np.abs(win).argmax(axis=1)
        if rel[0] < self._back:
            np.maximum(at, 0, out=at)
        step = win[:, 1:] - win[:, :-1]
        slope = np.maximum(_max(step, axis=1), -_min(step, axis=1))
        at += self._buf0 - self._delay
        np.maximum(at, 0, out=at)
        # `tuple.__new__` builds the named tuples in C (the class's own `__new__` is Python).
        fields = zip(
            cands.tolist(), self._mwi[rel].tolist(), at.tolist(), slope.tolist(), strict=True
        )
        return list(map(tuple.__new__, repeat(_Candidate), fields))

    def _judge(self, c: _Candidate) -> None:
        self._pending.append(c)
        last = self._last
        if c.height > self._thr and (last is None or c.idx - last.idx > self._half):
            is_t = (
                last is not None and c.idx - last.idx < self._twave and c.slope < 0.5 * last.slope
            )
            if self._screen_on and self._unlike_beat(c):
                self._vetoed = True
            elif not is_t:
                if last is not None and self._split_frac is not None:
                    self._split(last, c)
                self._accept(c, searched=False)
                return
        self._npk = 0.125 * c.height + 0.875 * self._npk
        self._update_threshold()

    def _split(self, last: _Candidate, c: _Candidate) -> None:
        """The beat missed between two accepted ones (see `EcgConfig.split_frac`): the
        highest set-aside candidate at least a T-wave interval away from both, above
        `split_frac` of the threshold and with at least `split_slope` of the last beat's slope."""
        floor = max(self._split_frac * self._thr, MIN_PEAK)  # type: ignore[operator]
        lo, hi = last.idx + self._twave, c.idx - self._twave
        min_slope = self._split_slope * last.slope
        best: _Candidate | None = None
        for p in self._pending:
            if (
                lo <= p.idx <= hi
                and p.height > floor
                and p.slope >= min_slope
                and (best is None or p.height > best.height)
            ):
                best = p
        if best is not None:
            self._accept(best, searched=True)

    def _unlike_beat(self, c: _Candidate) -> bool:
        """The ectopic-or-noise screen described with `NOISY_NPK`."""
        last = self._last
        return (
            last is not None
            and self._screen_on
            and self._screen
            and self._npk > NOISY_NPK * self._spk
            and c.idx - last.idx < PREMATURE * self._rr_mean
            and c.height < SMALL * self._spk
            and c.slope < SLOPE_FRAC * last.slope
            and self._last_gap < LATE * self._rr_mean
        )

    def _accept(self, c: _Candidate, *, searched: bool) -> None:
        w = 0.25 if searched else 0.125
        self._spk = w * c.height + (1.0 - w) * self._spk
        if self._last is not None and self._anchor == self._last.idx:
            rr = self._rr
            if len(rr) == _RR_HISTORY:
                self._rr_sum -= rr[0]
            rr.append(c.idx - self._last.idx)
            self._rr_sum += rr[-1]
            self._rr_mean = self._rr_sum / len(rr)
        self._last_gap = c.idx - self._last.idx if self._last is not None else 0
        self._screen = not self._vetoed
        self._vetoed = False
        self._last = c
        self._anchor = c.idx
        self._limit = c.idx + round(self._sb_factor * self._rr_mean)
        if c.r - self._last_r >= self._half // 2:
            self._out.append(c.r)
            self._last_r = c.r
        pending = self._pending
        if pending and pending[-1] is c:  # the usual case: the newest candidate was accepted
            self._pending = []
        else:
            self._pending = [p for p in pending if p.idx > c.idx]
        self._update_threshold()

    def _search_back(self) -> bool:
        """Look again at `(anchor, limit]` with half the threshold; True if a beat was found."""
        limit = self._limit
        floor = max(self._sb_floor * self._thr, MIN_PEAK)
        # The refractory period follows a beat, not the end of an empty search-back window.
        after_beat = self._last is not None and self._anchor == self._last.idx
        start = self._anchor + (self._half if after_beat else 0)
        best: _Candidate | None = None
        for p in self._pending:
            if (
                start < p.idx <= limit
                and p.height > floor
                and (best is None or p.height > best.height)
            ):
                best = p
        if best is not None:
            self._accept(best, searched=True)
            return True
        self._anchor = limit
        self._limit = limit + round(self._sb_factor * self._rr_mean)
        self._spk = max(0.75 * self._spk, 3.0 * self._npk)
        self._pending = [p for p in self._pending if p.idx > limit]
        self._update_threshold()
        return False

    def _trim(self) -> None:
        if not self._learned:
            return
        keep_from = max(self._cursor - self._half - self._back - 2, self._buf0)
        cut = keep_from - self._buf0
        if cut > 0:
            self._bp = self._bp[cut:]
            self._mwi = self._mwi[cut:]
            self._buf0 = keep_from
