"""Per-beat morphology quality: correlation of each QRS complex with the recent beat template.

After Orphanidou et al., "Signal-quality indices for the electrocardiogram and photoplethysmogram:
derivation and applications to wireless monitoring", IEEE J Biomed Health Inform 2015;19:832-838:
on clean ECG successive QRS complexes look alike, so the average correlation of beats with the
average template is high; noise and artefact detected as beats are unlike each other. Their
acceptance threshold for the average correlation is 0.66 (`EcgConfig.min_beat_corr`).

Streaming form: each beat is compared with the average of the previous `_TEMPLATE_BEATS` beats
(a trailing template, so the value of a beat depends only on the signal and the beats before it,
never on chunking). The signal is the ECG band-passed 0.5-40 Hz with carried filter state.
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
        self._ring = np.zeros((_TEMPLATE_BEATS, self._pre + self._post + 1))
        self._seen = 0  # beats stored in the ring so far

    def add(self, mv: FloatArray) -> None:
        if mv.size:
            self._buf = np.concatenate((self._buf, self._filter(mv)))

    def score(self, beats: list[int]) -> list[float | None]:
        """Correlation of each beat with the template of the beats before it (None while the
        template is being learned). Beats must be increasing and at least as late as before."""
        out: list[float | None] = []
        end = self._buf0 + self._buf.size
        for r in beats:
            lo = r - self._pre - self._buf0
            hi = r + self._post + 1 - self._buf0
            if lo < 0 or hi > self._buf.size or r + self._post >= end:
                out.append(None)  # at the very start or end of the stream
                continue
            w = self._buf[lo:hi]
            w = w - w.mean()
            q: float | None = None
            if self._seen >= _MIN_TEMPLATE:
                n = min(self._seen, _TEMPLATE_BEATS)
                tpl = self._ring[:n].mean(axis=0)
                den = float(np.sqrt(np.dot(w, w) * np.dot(tpl, tpl)))
                q = float(np.dot(w, tpl)) / den if den > 0.0 else 0.0
            self._ring[self._seen % _TEMPLATE_BEATS] = w
            self._seen += 1
            out.append(q)
        return out

    def trim(self, keep_from: int) -> None:
        """Drop samples before `keep_from - pre` (no later beat will need them)."""
        cut = keep_from - self._pre - self._buf0
        if cut > 0:
            self._buf = self._buf[cut:]
            self._buf0 += cut

    @property
    def nbytes(self) -> int:
        return int(self._buf.nbytes) + int(self._ring.nbytes) + 256
