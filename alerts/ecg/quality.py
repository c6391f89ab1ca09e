"""Streaming signal-quality labels on fixed epochs (1 s by default) of one ECG stream.

Each epoch is judged once, from its own statistics and those of a few epochs either side, so the
label does not depend on how samples were chunked. Checks, in order:

- flat line: peak-to-peak below `flat_mv` (leads off, or a disconnected/idle front end);
- clipping: the signal sits on its extreme value for `clip_run_s` or more (saturated amplifier);
- out of range: peak-to-peak above `max_range_mv`, which no surface ECG reaches (leads off/motion);
- noise: low kurtosis of the QRS-band signal (kSQI, Li, Clifford & Clifford, Physiol Meas
  2008;29:15 and Clifford et al., Physiol Meas 2012;33:1419: a clean ECG is dominated by sharp QRS
  peaks, noise is near-Gaussian), a high share of energy above the QRS band (EMG, mains), or
  baseline wander large against the QRS amplitude (motion). A quiet signal (QRS-band RMS below
  `quiet_mv`) is never called noise, so an asystole on a clean baseline still counts.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from alerts.ecg.config import EcgConfig
from alerts.ecg.filters import FloatArray, StatefulFilter, butter2

# The reductions themselves (`arr.max(axis=...)` adds a Python wrapper around the same call).
_max = np.maximum.reduce
_min = np.minimum.reduce
_sum = np.add.reduce
try:  # `numpy.count_nonzero` without its Python dispatch: the same C routine
    from numpy._core.multiarray import count_nonzero as _count
except ImportError:  # pragma: no cover - depends on the numpy version
    _count = np.count_nonzero
_EMPTY: FloatArray = np.empty(0)


class Defect(enum.IntEnum):
    """Why an epoch is unusable (0 = usable). Higher codes are checked first."""

    OK = 0
    NOISE = 1
    WANDER = 2
    OUT_OF_RANGE = 3
    CLIPPED = 4
    FLAT = 5


class QualityMonitor:
    """Feed the same blocks as the QRS detector; get per-epoch defects once they are decided."""

    def __init__(self, fs: float, config: EcgConfig) -> None:
        self.fs = fs
        self.cfg = config
        self.epoch = max(8, round(config.epoch_s * fs))
        self._ctx = config.quality_context
        self._clip_n = max(3, round(config.clip_run_s * fs))
        hp = min(40.0, 0.4 * fs)
        b, a = butter2(fs, None, hp)
        self._hf = StatefulFilter(b, a)
        self._raw: FloatArray = np.empty(0)
        self._bp: FloatArray = np.empty(0)
        self._hfbuf: FloatArray = np.empty(0)
        self._next_epoch = 0  # index of the next epoch whose statistics are computed
        self._next_label = 0  # index of the next epoch to be labelled
        # Per-epoch statistics of the recent epochs, one list per quantity (peak-to-peak, clipped
        # run, sum of bp^2, of bp^4, of hf^2, mean, peak |bp|); item 0 is epoch `_stats_base`.
        self._stats: tuple[list[float], ...] = tuple([] for _ in range(7))
        self._stats_base = 0

    def process(self, mv: FloatArray, bp: FloatArray, *, final: bool = False) -> list[Defect]:
        """Add a block; return labels of the epochs decided now, in order from `labelled`."""
        raw, band, hf = self._raw, self._bp, self._hfbuf
        if mv.size:
            hf_new = self._hf(mv)
            if raw.size:  # a partial epoch was waiting
                raw = np.concatenate((raw, mv))
                band = np.concatenate((band, bp))
                hf = np.concatenate((hf, hf_new))
            else:
                raw, band, hf = mv, bp, hf_new
        e = self.epoch
        n = raw.size // e
        m = n * e
        if n:
            self._add_stats(raw[:m].reshape(n, e), band[:m].reshape(n, e), hf[:m].reshape(n, e))
        if final and raw.size > m:
            k = raw.size - m
            self._add_stats(raw[m:].reshape(1, k), band[m:].reshape(1, k), hf[m:].reshape(1, k))
            m = raw.size
        if m == raw.size:  # the usual case: whole epochs, nothing waits
            self._raw = self._bp = self._hfbuf = _EMPTY
        else:
            self._raw, self._bp, self._hfbuf = raw[m:].copy(), band[m:].copy(), hf[m:].copy()
        last = self._next_epoch if final else self._next_epoch - self._ctx
        out: list[Defect] = []
        newest = self._next_epoch - 1
        for k in range(self._next_label, last):
            out.append(self._label(k, newest))
        self._next_label = max(self._next_label, last)
        drop = self._next_label - self._ctx - self._stats_base
        if drop > 0:
            for col in self._stats:
                del col[:drop]
            self._stats_base += drop
        return out

    @property
    def labelled(self) -> int:
        """Number of epochs labelled so far."""
        return self._next_label

    @property
    def nbytes(self) -> int:
        return self._raw.nbytes + self._bp.nbytes + self._hfbuf.nbytes + 56 * len(self._stats[0])

    def _add_stats(self, raw: FloatArray, bp: FloatArray, hf: FloatArray) -> None:
        n, e = raw.shape
        hi = _max(raw, axis=1)
        lo = _min(raw, axis=1)
        at_hi = raw == hi[:, None]
        at_lo = raw == lo[:, None]
        # Counting per epoch is only needed when the block holds enough extreme samples at all.
        if max(_count(at_hi), _count(at_lo)) >= self._clip_n:
            clip = np.maximum(_sum(at_hi, axis=1), _sum(at_lo, axis=1)).tolist()
        else:
            clip = [0] * n
        # Per-epoch sums of bp^2, bp^4, hf^2 and raw in one reduction (rows of the same length
        # are summed the same way whichever array they sit in).
        planes = np.empty((4, n, e))
        b2 = np.multiply(bp, bp, out=planes[0])
        np.multiply(b2, b2, out=planes[1])
        np.multiply(hf, hf, out=planes[2])
        planes[3] = raw
        s2, s4, h2, total = _sum(planes, axis=2).tolist()
        ptp_, clip_, s2_, s4_, h2_, mean_, peak_ = self._stats
        ptp_.extend((hi - lo).tolist())
        clip_.extend(clip)
        s2_.extend(s2)
        s4_.extend(s4)
        h2_.extend(h2)
        mean_.extend(v / e for v in total)  # = raw.mean(axis=1), without its overhead
        peak_.extend(_max(np.abs(bp), axis=1).tolist())
        self._next_epoch += n

    def _label(self, k: int, newest: int) -> Defect:
        """Label of epoch `k` from its statistics and its context's (plain floats: for the few
        epochs of a block this is cheaper than any array expression)."""
        cfg = self.cfg
        ptp_, clip_, s2_, s4_, h2_, mean_, peak_ = self._stats
        base = self._stats_base
        i = k - base
        ptp = ptp_[i]
        if ptp < cfg.flat_mv:
            return Defect.FLAT
        if clip_[i] >= self._clip_n:
            return Defect.CLIPPED
        if ptp > cfg.max_range_mv:
            return Defect.OUT_OF_RANGE
        lo = max(k - self._ctx, base) - base
        hi = min(k + self._ctx, newest) + 1 - base
        s2 = sum(s2_[lo:hi])
        count = self.epoch * (hi - lo)
        if s2 <= 0.0:
            return Defect.FLAT
        s4 = sum(s4_[lo:hi])
        h2 = sum(h2_[lo:hi])
        kurt = count * s4 / (s2 * s2)
        qrs_amp = math.sqrt(s2 / count)
        # A quiet baseline (asystole!) is near-Gaussian too: only energetic signals can be noise.
        if qrs_amp > cfg.quiet_mv and (kurt < cfg.min_kurtosis or h2 / s2 > cfg.max_hf_ratio):
            return Defect.NOISE
        means = mean_[lo:hi]
        qrs_peak = max(peak_[lo:hi])
        if qrs_amp > cfg.quiet_mv and (max(means) - min(means)) > cfg.max_wander_ratio * qrs_peak:
            return Defect.WANDER
        return Defect.OK
