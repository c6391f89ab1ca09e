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

import math

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
        self._offsets = np.arange(-self._pre, self._post + 1)[None, :]
        self._pad = np.zeros((_TEMPLATE_BEATS, self._offsets.shape[1]))
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
        buf0, size = self._buf0, self._buf.size
        if beats[0] - buf0 >= self._pre and beats[-1] - buf0 + self._post < size:
            where = list(range(len(beats)))  # the usual case: every window is in the buffer
            use = beats
        else:  # at the very start or end of the stream
            where = [
                i
                for i, b in enumerate(beats)
                if b - buf0 >= self._pre and b - buf0 + self._post < size
            ]
            use = [beats[i] for i in where]
        out: list[float | None] = [None] * len(beats)
        k = len(use)
        if not k:
            return out
        w = self._buf[(np.asarray(use) - buf0)[:, None] + self._offsets]
        w -= (w.sum(axis=1) / w.shape[1])[:, None]
        m = self._hist.shape[0]
        # Row j + _TEMPLATE_BEATS of `rows` is the j-th new beat; the rows before it are the
        # previous beats, oldest first, with zero rows where there were none.
        rows = np.concatenate((self._pad[: _TEMPLATE_BEATS - m], self._hist, w))
        tpl = rows[0:k] + rows[1 : 1 + k]
        for d in range(2, _TEMPLATE_BEATS):
            tpl += rows[d : d + k]
        wt = (w * tpl).sum(axis=1).tolist()
        ww = (w * w).sum(axis=1).tolist()
        tt = (tpl * tpl).sum(axis=1).tolist()
        for j, i in enumerate(where):
            if self._seen + j >= _MIN_TEMPLATE:
                den = math.sqrt(ww[j] * tt[j])
                out[i] = wt[j] / den if den > 0.0 else 0.0
        self._seen += k
        self._hist = rows[-min(self._seen, _TEMPLATE_BEATS) :].copy()
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
