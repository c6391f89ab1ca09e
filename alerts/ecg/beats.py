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
from collections import deque

import numpy as np

from alerts.ecg.episodes import EpisodeLog, Label
from alerts.ecg.filters import FloatArray, StatefulFilter, butter2

_sum = np.add.reduce  # `arr.sum(axis=...)` without its Python wrapper
_TEMPLATE_BEATS = 8
_MIN_TEMPLATE = 3
_PRE_S = 0.1  # window around the R peak, seconds before and after
_POST_S = 0.15
_MIN_SCORED = 5  # scored beats a window needs for a verdict
_P_FROM_S = 0.24  # P-wave window, seconds before the R peak (start and end)
_P_TO_S = 0.08
_P_MIN_RR_S = 0.4  # shorter preceding RR: the P window would reach the previous QRS


class BeatQuality:
    """Feed every block of samples with `add`; `score` beats (absolute R samples) in order.

    P waves (`p_corr`, one value per beat of the last `score` call): the correlation of a beat's
    pre-QRS window (R-240 to R-80 ms) with the sum of those of the previous beats, computed
    together with the QRS correlation (the P window follows the QRS window in each row; beats
    without one add zeros). Sinus (and most atrial) rhythms put the same P wave before every
    QRS, so the window correlates with the template; in atrial fibrillation there is no P wave,
    only fibrillatory waves unrelated to the QRS timing, so it does not. P-wave absence is the
    second ECG criterion of AF (2020 ESC guideline, Hindricks et al., Eur Heart J 2021;42:373)
    and P-wave features add to RR irregularity in automatic AF detection (e.g. Ladavich &
    Ghoraani, Biomed Signal Process Control 2015;18:274-281, P-wave template correlation; Datta
    et al., Comput Cardiol 2017;44, CinC 2017 challenge). Each window loses its mean and linear
    trend (baseline, T-wave tail) first. Beats after an RR shorter than `_P_MIN_RR_S` get None:
    the window would reach into the previous beat's QRS or ST segment. The window bounds were
    chosen on odd-numbered CinC 2017 records by the nested cross-validated AUC of the AF model
    (`bench/train_af.py`): R-300..-120 ms 0.970, R-260..-100 0.977, R-240..-80 0.979,
    R-380..-200 0.966. With a normal PR interval (120-200 ms) it covers the end of the P wave
    and the PR segment.
    """

    def __init__(self, fs: float) -> None:
        high = min(40.0, 0.45 * fs)
        b, a = butter2(fs, 0.5, high)
        self._filter = StatefulFilter(b, a)
        self._pre = max(2, round(_PRE_S * fs))
        self._post = max(2, round(_POST_S * fs))
        self._buf: FloatArray = np.empty(0)
        self._buf0 = 0  # absolute index of `_buf[0]`
        qrs = np.arange(-self._pre, self._post + 1)
        self._nq = qrs.size
        self._cuts = np.array([0, qrs.size])
        # P waves (see the class docstring): their window follows the QRS window in each row.
        self._p_from = max(self._pre, round(_P_FROM_S * fs))
        p_win = np.arange(-self._p_from, -round(_P_TO_S * fs))
        self._p_min_rr = round(_P_MIN_RR_S * fs)
        ramp = p_win - p_win.mean()
        self._p_ramp: FloatArray = ramp / math.sqrt(float((ramp * ramp).sum()))  # unit, mean 0
        self._offsets = np.concatenate((qrs, p_win))[None, :]
        self._pad = np.zeros((_TEMPLATE_BEATS, self._offsets.shape[1]))
        self._hist = self._pad[:0]  # windows of the last beats, oldest first
        self._seen = 0  # beats scored so far
        self._last: int | None = None  # the last beat scored
        self.p_corr: list[float | None] = []  # of the beats of the last `score` call
        # QRS windows (mean removed, one row each) of the beats of the last `score` call that
        # had one, and those beats' positions in its list (for `alerts.ecg.ventricular`).
        self.rows: FloatArray = np.empty((0, self._nq))
        self.rows_at: list[int] = []

    def add(self, mv: FloatArray) -> None:
        if mv.size:
            self._buf = np.concatenate((self._buf, self._filter(mv)))

    def score(self, beats: list[int]) -> list[float | None]:
        """Correlation of each beat with the template of the beats before it (None while the
        template is being learned). Beats must be increasing and at least as late as before.
        The P-wave correlations of the same beats are left in `p_corr` (see the class docstring)."""
        p_out: list[float | None] = [None] * len(beats)
        self.p_corr = p_out
        if not beats:
            self.rows_at = []
            return []
        buf0, size = self._buf0, self._buf.size
        last = self._last
        self._last = beats[-1]
        if beats[0] - buf0 >= self._p_from and beats[-1] - buf0 + self._post < size:
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
        self.rows_at = where
        if not k:
            self.rows = self._pad[:0, : self._nq]
            return out
        at = np.asarray(use) - buf0
        # One row per beat: its QRS window (without its mean), then its P window (without mean
        # and linear trend), zero where it has none (first beat, short RR, start of stream).
        idx = at[:, None] + self._offsets
        w = self._buf[idx if k == len(beats) and use[0] - buf0 >= self._p_from else idx.clip(0)]
        nq = self._nq
        q, pw = w[:, :nq], w[:, nq:]
        q -= (_sum(q, axis=1) / nq)[:, None]
        self.rows = q
        ramp = self._p_ramp
        pw -= (_sum(pw, axis=1) / pw.shape[1])[:, None] + _sum(pw * ramp, axis=1)[:, None] * ramp
        # The previous beat of each is the one before it in `beats` (None for the first ever).
        min_rr, first = self._p_min_rr, buf0 + self._p_from
        if last is not None and k == len(beats) and use[0] >= first:  # the usual case
            prev = last
            ok = []
            for b in use:
                ok.append(b - prev >= min_rr)
                prev = b
        else:
            full = [last, *beats]
            ok = [
                (p := full[i]) is not None and b - p >= min_rr and b >= first
                for i, b in zip(where, use, strict=True)
            ]
        if not all(ok):
            pw *= np.asarray(ok, dtype=np.float64)[:, None]
        m = self._hist.shape[0]
        # Row j + _TEMPLATE_BEATS of `rows` is the j-th new beat; the rows before it are the
        # previous beats, oldest first, with zero rows where there were none.
        rows = np.concatenate((self._pad[: _TEMPLATE_BEATS - m], self._hist, w))
        tpl = rows[0:k] + rows[1 : 1 + k]
        for d in range(2, _TEMPLATE_BEATS):
            tpl += rows[d : d + k]
        # The row sums of the QRS and P parts of w * tpl, w * w and tpl * tpl in one call.
        prod = np.empty((3, k, w.shape[1]))
        np.multiply(w, tpl, out=prod[0])
        np.multiply(w, w, out=prod[1])
        np.multiply(tpl, tpl, out=prod[2])
        # One flat list: [w.t, w.w, t.t] x beat x [QRS, P] (nested lists cost an object each).
        sums = np.add.reduceat(prod, self._cuts, axis=2).ravel().tolist()
        ww_at, tt_at = 2 * k, 4 * k
        for j in range(max(0, _MIN_TEMPLATE - self._seen), k):
            i = where[j]
            q = 2 * j
            den = math.sqrt(sums[ww_at + q] * sums[tt_at + q])
            out[i] = sums[q] / den if den > 0.0 else 0.0
            if ok[j]:
                den = math.sqrt(sums[ww_at + q + 1] * sums[tt_at + q + 1])
                if den > 0.0:
                    p_out[i] = sums[q + 1] / den
        self._seen += k
        self._hist = rows[-min(self._seen, _TEMPLATE_BEATS) :].copy()
        return out

    def trim(self, keep_from: int) -> None:
        """Drop samples before `keep_from - pre` (no later beat will need them)."""
        cut = keep_from - self._p_from - self._buf0
        if cut > 0:
            self._buf = self._buf[cut:]
            self._buf0 += cut

    @property
    def nbytes(self) -> int:
        return int(self._buf.nbytes) + int(self._hist.nbytes) + 256


class WindowSqi:
    """Noise from the detected beats themselves, judged on a trailing window of beats.

    After Orphanidou et al. (IEEE J Biomed Health Inform 2015;19:832-838): a stretch of ECG is
    unacceptable when its beats do not look alike, i.e. the mean correlation of the beats with
    the template is low. Here each beat's correlation is the one `BeatQuality` computed against
    the trailing template, and the window is the `sqi_window_s` seconds of beats up to and
    including the current one (Orphanidou et al. judge 10 s windows). A trailing window never
    waits for later beats and never depends on chunking; at least `_MIN_SCORED` scored beats are
    needed for a verdict. Their rate rule (40-180 /min) is not used: a rate outside it on alike
    beats is a brady- or tachycardia to alarm on, not noise. Their RR rules (longest RR > 3 s,
    longest/shortest RR > 2.2) are not used either: a pause is an alarm in its own right, and AF
    routinely breaks the ratio rule. Our template covers the QRS only (0.25 s), not the whole
    beat, so the threshold (`EcgConfig.sqi_min_corr`) is lower than their 0.66.

    `add` takes beats in order with their correlations and returns the bad intervals (from just
    after the previous beat to the current one) to hand to the rhythm stage, which then makes no
    rhythm decision there. Noise episodes are reported through `log` (detail ``beats``): an
    episode starts at the start of the first bad window (the evidence covers that stretch) and
    ends at the first beat whose window is acceptable again.
    """

    def __init__(self, fs: float, window_s: float, min_corr: float) -> None:
        self._w = round(window_s * fs)
        self._min_corr = min_corr
        self._win_b: deque[int] = deque()  # the window's beats and their correlations
        self._win_c: deque[float | None] = deque()
        self._open = False  # a noise episode is open
        self._sum = 0.0
        self._n = 0
        self._prev: int | None = None
        self._bad_until = -1  # end of the last noise episode
        self.log = EpisodeLog()

    def add(self, beats: list[int], corr: list[float | None]) -> list[tuple[int, int]]:
        bad: list[tuple[int, int]] = []
        win_b, win_c = self._win_b, self._win_c
        total, n, prev, span, thr = self._sum, self._n, self._prev, self._w, self._min_corr
        for b, c in zip(beats, corr, strict=True):
            win_b.append(b)
            win_c.append(c)
            if c is not None:
                total += c
                n += 1
            lo = b - span
            while win_b[0] < lo:
                win_b.popleft()
                old = win_c.popleft()
                if old is not None:
                    total -= old
                    n -= 1
            if n >= _MIN_SCORED and total < thr * n:  # noisy window
                if prev is not None and b > prev + 1:
                    if bad and bad[-1][1] == prev:
                        bad[-1] = (bad[-1][0], b)
                    else:
                        bad.append((prev + 1, b))
                if not self._open:
                    self._open = True
                    self.log.open(Label.NOISE, max(win_b[0], self._bad_until), detail="beats")
            elif self._open:
                self._open = False
                self.log.close(Label.NOISE, b)
                self._bad_until = b
            prev = b
        self._sum, self._n, self._prev = total, n, prev
        return bad

    def finish(self, end: int) -> None:
        self.log.close(Label.NOISE, end)
        self._open = False

    @property
    def nbytes(self) -> int:
        return 48 * len(self._win_b) + 128
