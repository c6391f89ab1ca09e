"""Per-beat morphology quality: correlation of each QRS complex with the recent beat template.

After Orphanidou et al., "Signal-quality indices for the electrocardiogram and photoplethysmogram:
derivation and applications to wireless monitoring", IEEE J Biomed Health Inform 2015;19:832-838:
on clean ECG successive QRS complexes look alike, so the average correlation of beats with the
average template is high; noise and artefact detected as beats are unlike each other. Their
acceptance threshold for the average correlation is 0.66 (`EcgConfig.min_beat_corr`).

Streaming form: each beat is compared with the average of the previous `_TEMPLATE_BEATS` beats
(a trailing template, so the value of a beat depends only on the signal and the beats before it,
never on chunking). The signal is the ECG band-passed 0.5-40 Hz with carried filter state.
All beats of a block are scored together: their windows are cut with one fancy index and each
template is the sum of the preceding windows added in a fixed order (the mean's 1/n factor
cancels in a correlation), so a beat's value is the same whichever block it falls in.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from alerts.ecg.filters import FloatArray, StatefulFilter

_TEMPLATE_BEATS = 8
_MIN_TEMPLATE = 3
_PRE_S = 0.1  # window around the R peak, seconds before and after
_POST_S = 0.15


class BeatQuality:
    """Feed every block of samples with `add`; `score` beats (absolute R samples) in order."""

    def __init__(self, fs: float) -> None:
        high = min(40.0, 0.45 * fs)
        b, a = signal.butter(2, [0.5, high], btype="bandpass", fs=fs)
        self._filter = StatefulFilter(b, a)
        self._pre = max(2, round(_PRE_S * fs))
        self._post = max(2, round(_POST_S * fs))
        self._buf: FloatArray = np.empty(0)
        self._buf0 = 0  # absolute index of `_buf[0]`
        self._offsets = np.arange(-self._pre, self._post + 1)
        self._pad = np.zeros((_TEMPLATE_BEATS, self._offsets.size))
        self._hist = self._pad[:0]  # centred windows of the last beats, oldest first
        self._seen = 0  # beats scored so far

    def add(self, mv: FloatArray) -> None:
        if mv.size:
            self._buf = np.concatenate((self._buf, self._filter(mv)))

    def score(self, beats: list[int]) -> list[float | None]:
        """Correlation of each beat with the template of the beats before it (None while the
        template is being learned). Beats must be increasing and at least as late as before."""
        if not beats:
            return []
        r = np.asarray(beats, dtype=np.int64) - self._buf0
        ok = (r >= self._pre) & (r + self._post < self._buf.size)  # not at the stream's ends
        out: list[float | None] = [None] * len(beats)
        k = int(ok.sum())
        if not k:
            return out
        w = self._buf[r[ok][:, None] + self._offsets[None, :]]
        w -= w.mean(axis=1)[:, None]
        m = self._hist.shape[0]
        # Row j + _TEMPLATE_BEATS of `rows` is the j-th new beat; the rows before it are the
        # previous beats, oldest first, with zero rows where there were none.
        rows = np.concatenate((self._pad[: _TEMPLATE_BEATS - m], self._hist, w))
        tpl = rows[0:k].copy()
        for d in range(1, _TEMPLATE_BEATS):
            tpl += rows[d : d + k]
        wt = (w * tpl).sum(axis=1)
        den = np.sqrt((w * w).sum(axis=1) * (tpl * tpl).sum(axis=1))
        q = np.divide(wt, den, out=np.zeros(k), where=den > 0.0)
        seen = self._seen + np.arange(k)  # beats in the template of each new beat
        where = np.flatnonzero(ok)
        for i, s, v in zip(where.tolist(), seen.tolist(), q.tolist(), strict=True):
            if s >= _MIN_TEMPLATE:
                out[i] = v
        self._hist = rows[-_TEMPLATE_BEATS:][-min(self._seen + k, _TEMPLATE_BEATS) :].copy()
        self._seen += k
        return out

    def trim(self, keep_from: int) -> None:
        """Drop samples before `keep_from - pre` (no later beat will need them)."""
        cut = keep_from - self._pre - self._buf0
        if cut > 0:
            self._buf = self._buf[cut:]
            self._buf0 += cut

    @property
    def nbytes(self) -> int:
        return int(self._buf.nbytes) + int(self._hist.nbytes) + 256
