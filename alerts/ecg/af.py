"""Atrial fibrillation from the RR intervals of a beat sequence, one interval at a time.

After Petrenas, Marozas & Sornmo, "Low-complexity detection of atrial fibrillation in continuous
long-term monitoring", Comput Biol Med 2015;65:184-191: ectopic beats are filtered out first,
then the normalised successive RR differences are median-filtered over a sliding window of beats
and compared with a fixed threshold. Our ectopic rule is the classical premature-beat/
compensatory-pause pattern: an RR interval shorter than `af_premature` times the running median
followed by one longer than `af_compensatory` times it; both intervals are dropped, so frequent
isolated premature beats do not look irregular. A median over `af_window_beats` beats (centred,
so labels wait for half a window of later beats) keeps transient irregularity from flipping the
label.

When the ECG signal is known (beats come with their QRS and P-wave correlations from
`alerts.ecg.beats`), the same window is judged instead by the logistic model of
`alerts.ecg.afmodel` over RR-irregularity and P-wave features, kept as running sums of the
window's entries; beats-only input (no signal) keeps the rule above.

`AfWindows` is the AF stage of `alerts.ecg.rhythm.RhythmAnalyzer`, which hands it every clean RR
interval and counts the unusable ones; it opens and closes AF episodes in the analyser's log.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from itertools import islice

import numpy as np

from alerts.ecg import afmodel
from alerts.ecg.config import EcgConfig
from alerts.ecg.episodes import EpisodeLog, Label

_REF_MIN = 4  # RR intervals needed before the ectopic rule applies
# An interval awaiting the next: (start, end, rr, reference rr, QRS and P correlations of `end`).
_Held = tuple[int, int, int, float, float | None, float | None]
# A normal interval: (start, end, normalised successive difference, QRS correlation of the end
# beat, ectopic intervals dropped just before, P-wave correlation of the end beat, its
# contributions to the window sums of `alerts.ecg.afmodel`, its Lorenz-plot cell).
_Entry = tuple[int, int, float, float | None, int, float | None, tuple[int, ...], int]


def median(values: Iterable[float] | Iterable[int]) -> float:
    """Median of a short list (sorting a few dozen numbers beats numpy's call overhead)."""
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return float(s[mid]) if n % 2 else 0.5 * (s[mid - 1] + s[mid])


def cosen(rr_s: list[float], r0: float = 0.03, min_matches: int = 5) -> float:
    """Coefficient of sample entropy of RR intervals (seconds), after Lake & Moorman, "Accurate
    estimation of entropy in very short physiological time series: the problem of atrial
    fibrillation detection in implanted ventricular devices", Am J Physiol Heart Circ Physiol
    2011;300:H319-H325: sample entropy with template length m = 1 and tolerance r (starting at
    30 ms, widened in 10 ms steps until at least `min_matches` length-2 matches are found),
    turned into a density by adding ln(2r) (QSE), minus ln(mean RR). AF is far less
    predictable than sinus rhythm with ectopy, and the mean-RR term separates it from fast
    regular rhythms; Lake & Moorman's AF threshold is about -1.4. Returns +inf when no two
    intervals match at all (maximally irregular)."""
    x = np.asarray(rr_s, dtype=np.float64)
    n = x.size
    if n < 3:
        return float("nan")
    a = x[:-1]
    d1 = np.abs(a[:, None] - a[None, :])  # template (length 1) distances, i < j used below
    d2 = np.maximum(d1, np.abs(x[1:, None] - x[None, 1:]))  # length-2 template distances
    upper = np.triu(np.ones((n - 1, n - 1), dtype=bool), 1)
    v1 = np.sort(d1[upper])
    v2 = np.sort(d2[upper])
    if v2.size < min_matches:
        return float("nan")
    # Smallest r (30 ms + k * 10 ms) with at least `min_matches` matches of length 2.
    r = max(r0, r0 + 0.01 * math.ceil((float(v2[min_matches - 1]) - r0) / 0.01 - 1e-9))
    big_a = int(np.searchsorted(v2, r, side="right"))
    big_b = int(np.searchsorted(v1, r, side="right"))
    if big_a == 0 or big_b == 0:
        return float("inf")
    return -math.log(big_a / big_b) + math.log(2.0 * r) - math.log(float(x.mean()))


class AfWindows:
    """Feed clean RR intervals with `add` (and unusable ones with `drop`); `flush` at the end.

    AF episodes go to `log` (shared with the rest of the rhythm stage)."""

    def __init__(self, fs: float, cfg: EcgConfig, log: EpisodeLog) -> None:
        self.fs = fs
        self.cfg = cfg
        self.log = log
        self._ref: deque[int] = deque(maxlen=cfg.af_reference_beats)
        self._ref_sorted: list[int] = []  # the same intervals in order of length (for the median)
        # (start, end, rr, ref, corr, p_corr) awaiting the next interval
        self._held: _Held | None = None
        self._last_diff = 0  # previous signed successive RR difference (turning points)
        self._last_normal2: int | None = None  # the normal interval before `_last_normal`
        self.dropped = 0  # ectopic or unusable intervals since the last normal one
        self._last_normal: int | None = None
        # Normal intervals (see `_Entry`) a window can still reach.
        self._af: deque[_Entry] = deque()
        self._af_base = 0  # absolute index of `_af[0]`
        self._af_next = 0  # absolute index of the next entry to label
        # Running statistics of the current window `_win_lo.._win_hi-1` (absolute indices).
        self._win_lo = 0
        self._win_hi = 0
        self._win_high = 0  # entries with d above `af_threshold`
        self._win_dropped = 0  # ectopic intervals dropped before its entries
        self._win_sum = [0] * afmodel.N_SUMS  # sums of the entries' `afmodel` contributions
        self._win_cells: dict[int, int] = {}  # Lorenz-plot cell -> entries of the window in it
        self._last_cell = 0  # Lorenz coordinate of the previous successive difference
        # Set to a list to record, for every window the AF model judges, the (start, end) of the
        # interval it labels and the window's features.
        self.trace: list[tuple[int, int, tuple[float, ...]]] | None = None
        self._af_end: int | None = None
        self._af_rr = [0.0, 0.0]
        self._half = cfg.af_window_beats // 2
        self._thr = cfg.af_threshold
        self._premature = cfg.af_premature
        self._compensatory = cfg.af_compensatory
        self._in_af = False  # an AF episode is open (in `log`, which only this stage opens AF in)

    @property
    def nbytes(self) -> int:
        return 64 * (len(self._af) + len(self._ref))

    def add(self, start: int, end: int, rr: int, corr: float | None, p_corr: float | None) -> None:
        """A clean RR interval `start..end` (`rr` samples); `corr` and `p_corr` are the QRS and
        P-wave correlations of its end beat (None without the signal)."""
        s = self._ref_sorted
        n = len(s)
        if n >= _REF_MIN:  # median(self._ref), kept sorted instead of sorting every time
            mid = n // 2
            ref = float(s[mid]) if n % 2 else 0.5 * (s[mid - 1] + s[mid])
        else:
            ref = float(rr)
        if n == self._ref.maxlen:
            del s[bisect_left(s, self._ref[0])]
        self._ref.append(rr)
        insort(s, rr)
        held = self._held
        self._held = None
        if held is not None and held[1] != start:  # a gap broke the sequence
            self._emit_normal(held)
            held = None
            self._last_normal = None  # no successive difference across the gap
        if held is not None:
            h_rr, h_ref = held[2], held[3]
            if h_rr < self._premature * h_ref and rr > self._compensatory * h_ref:
                self.dropped += 2
                return  # premature beat + compensatory pause: drop both intervals
            self._emit_normal(held)
        self._held = (start, end, rr, ref, corr, p_corr)

    def _emit_normal(self, item: _Held) -> None:
        start, end, rr, ref, corr, p_corr = item
        last = self._last_normal
        if last is not None:
            diff = rr - last
            d = abs(diff) / ref
            turn = diff * self._last_diff < 0
            self._last_diff = diff
            last2 = self._last_normal2
            d2 = abs(rr - last2) / ref if last2 is not None else d
            sums = afmodel.contributions(d, d2, turn, rr, corr, p_corr)
            k = afmodel.lorenz_bin(diff / ref)
            cell = k * afmodel.LORENZ_STRIDE + self._last_cell
            self._last_cell = k
            self._af.append((start, end, d, corr, self.dropped, p_corr, sums, cell))
            self.dropped = 0
            self._label_af(final=False)
        else:
            self._last_diff = 0
            self._last_cell = 0
        self._last_normal2 = last
        self._last_normal = rr

    def _label_af(self, *, final: bool) -> None:
        """Label every entry whose centred window is complete (all of them when `final`).

        The window statistics are kept as running integer counts (intervals above the threshold,
        ectopic intervals dropped) updated as the window slides, so a beat costs O(1) instead of
        a sort of the whole window; the decision is the same as from the full window."""
        half = self._half
        thr = self._thr
        af = self._af
        cells = self._win_cells
        base, nxt = self._af_base, self._af_next
        w_lo, w_hi = self._win_lo, self._win_hi
        high, dropped, sums = self._win_high, self._win_dropped, self._win_sum
        add, sub = operator.add, operator.sub
        total = base + len(af)
        stop = total if final else total - half
        while nxt < stop:
            lo = nxt - half if nxt > half else 0
            hi = min(nxt + half + 1, total)
            while w_hi < hi:
                e = af[w_hi - base]
                high += e[2] > thr
                dropped += e[4]
                sums = list(map(add, sums, e[6]))
                cells[e[7]] = cells.get(e[7], 0) + 1
                w_hi += 1
            while w_lo < lo:
                e = af[w_lo - base]
                high -= e[2] > thr
                dropped -= e[4]
                sums = list(map(sub, sums, e[6]))
                c = cells[e[7]] - 1
                if c:
                    cells[e[7]] = c
                else:
                    del cells[e[7]]
                w_lo += 1
            self._win_lo, self._win_hi = w_lo, w_hi
            self._win_high, self._win_dropped, self._win_sum = high, dropped, sums
            self._af_next = nxt  # the entry being labelled (for `trace`)
            if self._af_window(lo, hi):
                entry = af[nxt - base]
                self._af_beat(entry[0], entry[1])
            elif self._in_af:
                self._close_af()
            nxt += 1
        self._af_next = nxt
        # Keep the entries a later window can still reach (one more, to slide its start out).
        while base < nxt - half - 1:
            af.popleft()
            base += 1
        self._af_base = base

    def _af_window(self, lo: int, hi: int) -> bool:
        """AF decision for the window of normal intervals `lo..hi-1` (absolute entry indices):
        irregular RR (median normalised successive difference above `af_threshold`), most
        intervals not ectopic (a run of ectopic pairs, e.g. bigeminy, leaves too few normal
        intervals to judge), and, when beat morphology is known, QRS complexes alike (mean
        template correlation at least `min_beat_corr`; noise detected as beats is irregular but
        not AF)."""
        cfg = self.cfg
        n = hi - lo
        sums = self._win_sum
        if cfg.af_model and sums[afmodel.CORR_N]:  # beat morphology known: the learned model
            f = afmodel.features(
                sums, n, self._win_high, self._win_dropped, len(self._win_cells), self.fs
            )
            if self.trace is not None:
                e = self._af[self._af_next - self._af_base]
                self.trace.append((e[0], e[1], f))
            return afmodel.score(f) > 0.0
        if not self._irregular(lo, hi, n) and not self._short_af(lo, hi, n):
            return False
        dropped = self._win_dropped
        if dropped > cfg.af_max_ectopic * (dropped + n):
            return False
        entries = self._window(lo, hi)
        corr = [e[3] for e in entries if e[3] is not None]
        if corr and sum(corr) / len(corr) < cfg.min_beat_corr:
            return False
        if cfg.af_max_p_corr is not None:
            p = [e[5] for e in entries if e[5] is not None]
            if len(p) >= cfg.af_p_min_beats and sum(p) > cfg.af_max_p_corr * len(p):
                return False
        if cfg.af_cosen is None or n < cfg.af_cosen_min_beats:
            return True
        return cosen([(e[1] - e[0]) / self.fs for e in entries]) > cfg.af_cosen

    def _irregular(self, lo: int, hi: int, n: int) -> bool:
        """The window's median normalised successive difference is above `af_threshold`."""
        mid = n // 2
        high = self._win_high  # entries above the threshold
        # The median exceeds the threshold iff enough entries do; only when an even window splits
        # exactly in half does the mean of the two middle values have to be computed.
        if high < n - mid:
            return False
        if n % 2 == 0 and high == mid:
            return median(e[2] for e in self._window(lo, hi)) > self.cfg.af_threshold
        return True

    def _short_af(self, lo: int, hi: int, n: int) -> bool:
        """A paroxysm shorter than half the window: at least `af_short_share` of the window's
        entries are above `af_threshold`, and more than half of the `af_short_beats` entries
        centred on the one being labelled above `af_short_threshold`."""
        cfg = self.cfg
        if cfg.af_short_beats is None or self._win_high < cfg.af_short_share * n:
            return False
        h = cfg.af_short_beats // 2
        nxt = self._af_next
        a, b = max(lo, nxt - h), min(hi, nxt + h + 1)
        base = self._af_base
        thr = cfg.af_short_threshold
        high = sum(e[2] > thr for e in islice(self._af, a - base, b - base))
        return 2 * high > b - a

    def _window(self, lo: int, hi: int) -> list[_Entry]:
        base = self._af_base
        return list(islice(self._af, lo - base, hi - base))

    def _af_beat(self, start: int, end: int) -> None:
        """The interval `start..end` is labelled AF."""
        if not self._in_af:
            self._in_af = True
            self.log.open(Label.AF, start)
            self._af_rr = [0.0, 0.0]
        self._af_end = end
        self._af_rr[0] += end - start
        self._af_rr[1] += 1.0

    def _close_af(self) -> None:
        if self._af_end is not None and self._in_af:
            rr = self._af_rr[0] / self._af_rr[1] if self._af_rr[1] else 0.0
            self.log.close(Label.AF, self._af_end, mean_hr=60.0 * self.fs / rr if rr else None)
        self._in_af = False

    def flush(self) -> None:
        """End of the beats: label every interval still waiting and close AF."""
        if self._held is not None:
            self._emit_normal(self._held)
            self._held = None
        self._label_af(final=True)
        self._close_af()
