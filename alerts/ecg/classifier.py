"""Beat classification (normal or supraventricular `N`, ventricular ectopic `V`, unknown `Q`)
against the patient's own running template.

A premature ventricular beat starts in the ventricle and spreads through muscle instead of the
conduction system: its QRS is wide, differently shaped and often of other polarity and larger
area than the patient's conducted beats, it comes early and is usually followed by a
compensatory pause (Surawicz & Knilans, Chou's Electrocardiography in Clinical Practice, 6th ed.,
ch. 16). Automatic classifiers use the same two families of features: morphology and RR
intervals (de Chazal, O'Dwyer & Reilly, IEEE Trans Biomed Eng 2004;51:1196-1206; Hamilton's
template-based beat classifier in the EP Limited open-source software). Morphology is judged
against a template of this patient's own dominant beat rather than a population model, which is
what makes a small model generalise to people it has never seen.

The features and the model are in `alerts.ecg.beatmodel`.

The template and reference RR follow the dominant rhythm only: they are updated once per
group of `GROUP` beats from the group's beats that match the template (correlation at least
`MATCH_CORR`, not premature, not in a noisy stretch), so ectopic beats, runs of ventricular
tachycardia and noise never become the template (the guard of river's anomaly filters). The
first template is the mean of the beats alike to the most typical beat of the first group; if
no beat matched for `RESEED_GROUPS` groups while the beats were alike and slower than 100 /min
(the dominant morphology changed, e.g. the patch was moved), the template is learned again.
Beats are classified in groups of `GROUP` once the next beat is known (its RR interval is the
compensatory pause of the last one), so the numeric work runs on arrays, labels lag by up to
`GROUP` beats, and the output depends only on the beat sequence, never on chunking.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from alerts.ecg.beatmodel import (
    EPS,
    FEATURES,
    UNLIKE,
    features,
    morphology,
    qrs_width,
    recent_rr,
    shipped_model,
    template_stats,
)
from alerts.ecg.filters import FloatArray
from alerts.ecg.vebmodel import VebModel

try:  # `numpy.einsum` without its Python argument handling: the same C routine
    from numpy._core.multiarray import c_einsum as _einsum
except ImportError:  # pragma: no cover - depends on the numpy version
    _einsum = np.einsum


def _row_dots(a: FloatArray, b: FloatArray) -> FloatArray:
    """Dot product of each row of `a` with the same row of `b`."""
    out: FloatArray = _einsum("ij,ij->i", a, b)
    return out


GROUP = 16
MATCH_CORR = 0.9
RESEED_GROUPS = 4
ALIKE_CORR = 0.8  # successive beats of a VT run must correlate at least this (see `VtRuns`)
_INIT_CORR = 0.8  # first template: beats at least this alike to the most typical one
_RESEED_LOCAL = 0.8  # the unmatched beats must be this alike to each other
_TPL_RATE = 0.2  # weight of a group's matching beats in the template update
_REF_RATE = 0.25  # and of their median RR in the reference RR

_NEUTRAL_LEVEL = -5.0  # the level of clean sinus beats (correlation about 0.995)
_LEVEL_BEATS = 64  # beats whose `unlike` sets the stretch's noise level
_WIDTH = FEATURES.index("width")
_LOCAL_RR = 8  # intervals in the local average RR (de Chazal et al. 2004)
_CLUSTERS = 6  # other morphologies remembered besides the dominant one
_CLUSTER_RATE = 0.2


class BeatClassifier:
    """Feed beats in order with `add`; `take` returns the beats classified since."""

    def __init__(self, fs: float, model: VebModel | None = None) -> None:
        self.fs = fs
        self._pre = max(2, round(0.1 * fs))  # R sample within a QRS window (`BeatQuality`)
        self._model = model
        self._tpl: FloatArray | None = None
        self._t_stats = (1.0, 1.0, 1.0, 0.0)
        self._t_width = 1.0
        self._ref = 0.0  # reference RR of the dominant rhythm (samples)
        self._prev: int | None = None  # the last beat classified
        self._prev_row: FloatArray | None = None  # and its QRS window, if it had one
        self._last_label = "Q"  # and its class
        # Per beat of the last `take`: its QRS window is alike the previous beat's (see `VtRuns`).
        self.alike: list[bool] = []
        # Per beat of the last `take`: the model's probability that it is ventricular (0 for a
        # beat it did not judge), for the confidence check of `VtRuns`.
        self.conf: list[float] = []
        # and its QRS width against the template's (`beatmodel` feature `width`; 0 if unjudged).
        self.width: list[float] = []
        self._miss = 0  # groups in a row without a beat matching the template
        # Other morphologies: templates (unit norm), mean log pre/post RR, last group seen.
        self._c_tpl: FloatArray = np.empty((0, 0))
        self._c_rr: list[list[float]] = []
        self._c_seen: list[int] = []
        self._rr_hist: list[float] = []  # the last `_LOCAL_RR` intervals before the group
        self._unlike_hist: list[float] = []  # `unlike` of the last `_LEVEL_BEATS` beats
        self._groups = 0
        self._beats: list[int] = []
        self._rows: list[FloatArray | None] = []
        self._local: list[float] = []
        self._noisy: list[bool] = []
        self._soft: list[bool] = []
        # Set to a list to record (beat, features, soft) of every beat the model judges.
        self.trace: list[tuple[int, tuple[float, ...], bool, bool]] | None = None

    def add(
        self,
        beats: list[int],
        rows: FloatArray,
        rows_at: list[int],
        local: list[float | None],
        noisy: list[bool],
        soft: list[bool],
    ) -> None:
        """Beats (in order) with their QRS windows (`rows[j]` belongs to `beats[rows_at[j]]`),
        their trailing-template correlations, whether they lie in a noisy stretch (label Q)
        and whether in a doubtful one (`soft`: a V there must be alike the beat before it,
        else it is Q; such beats never update the template)."""
        new: list[FloatArray | None] = [None] * len(beats)
        for j, i in enumerate(rows_at):
            new[i] = rows[j]
        self._beats.extend(beats)
        self._rows.extend(new)
        self._local.extend(1.0 if c is None else c for c in local)
        self._noisy.extend(noisy)
        self._soft.extend(soft)

    def take(self, *, final: bool) -> tuple[list[int], list[str]]:
        """Classify every full group whose next beat is known (all beats when `final`)."""
        beats: list[int] = []
        labels: list[str] = []
        self.alike = []
        self.conf = []
        self.width = []
        while len(self._beats) > GROUP or (final and self._beats):
            k = min(GROUP, len(self._beats))
            nxt = self._beats[k] if len(self._beats) > k else None
            labels.extend(self._group(k, nxt))
            beats.extend(self._beats[:k])
            self._prev = self._beats[k - 1]
            self._prev_row = self._rows[k - 1]
            del self._beats[:k], self._rows[:k], self._local[:k], self._noisy[:k], self._soft[:k]
        return beats, labels

    @property
    def nbytes(self) -> int:
        n = self._tpl.nbytes if self._tpl is not None else 0
        return n * (len(self._beats) + 1) + self._c_tpl.nbytes + 32 * len(self._beats) + 512

    def _group(self, k: int, nxt: int | None) -> list[str]:
        beats = self._beats[:k]
        rows = self._rows[:k]
        noisy = self._noisy[:k]
        soft = self._soft[:k]
        labels = ["Q"] * k
        missing = [i for i, r in enumerate(rows) if r is None]
        if len(missing) == k:
            self.alike.extend([False] * k)
            self.conf.extend([0.0] * k)
            self.width.extend([0.0] * k)
            self._last_label = "Q"
            return labels
        if self._tpl is None and not self._init(rows, noisy, soft):
            self.alike.extend([False] * k)
            self.conf.extend([0.0] * k)
            self.width.extend([0.0] * k)
            return labels
        tpl = self._tpl
        assert tpl is not None
        # Beats without a window (start or end of the stream) borrow the template: neutral
        # features, and they stay Q.
        x = np.array([tpl if r is None else r for r in rows])
        prev_row = tpl * 0.0 if self._prev_row is None else self._prev_row
        both = np.concatenate((prev_row[None, :], x))
        sq = _row_dots(both, both)
        num = _row_dots(both[1:], both[:-1])
        prev_corr = num / (np.sqrt(sq[1:] * sq[:-1]) + EPS)
        alike = (prev_corr > ALIKE_CORR).tolist()
        for i in missing:
            alike[i] = False
            if i + 1 < k:
                alike[i + 1] = False
        self.alike.extend(alike)
        ref = self._ref
        prev = self._prev if self._prev is not None else beats[0] - ref
        after = nxt if nxt is not None else beats[-1] + ref
        rr = np.asarray([prev, *beats, after], dtype=np.float64)
        rr = rr[1:] - rr[:-1]
        rr_pre = rr[:-1]
        log_rr = np.log(rr / ref)
        hist = np.asarray([*self._rr_hist, *rr_pre.tolist()])
        local_rr = recent_rr(hist, len(self._rr_hist), k, ref, _LOCAL_RR)
        self._rr_hist = hist[-_LOCAL_RR:].tolist()
        corr, norm, ratios, pol = morphology(x, sq[1:], tpl, self._t_stats, self._pre)
        local = np.asarray(self._local[:k])
        clusters = self._clusters(x, norm, corr, log_rr, noisy, soft)
        level = self._level(corr, rows)
        f = features(
            corr, local, ratios, pol, log_rr, clusters, x, self._t_width, prev_corr, local_rr, level
        )
        model = self._model or shipped_model()
        prob = model.prob(f)
        is_v = (prob > model.threshold).tolist()
        off = (corr < MATCH_CORR).tolist()
        judged = [i for i in range(k) if rows[i] is not None and not noisy[i]]
        conf = [0.0] * k
        width = [0.0] * k
        p = prob.tolist()
        w = f[_WIDTH].tolist()
        for i in judged:
            labels[i] = "V" if is_v[i] else "N"
            conf[i] = p[i]
            width[i] = w[i]
        self.conf.extend(conf)
        self.width.extend(width)
        self._last_label = settle(labels, alike, off, soft, self._last_label)
        if self.trace is not None:
            ft = f.T.tolist()
            self.trace.extend(
                (beats[i], tuple(ft[i]), soft[i], noisy[i]) for i in range(k) if rows[i] is not None
            )
        clean = np.ones(k, dtype=bool)
        for i in range(k):
            if rows[i] is None or noisy[i] or soft[i]:
                clean[i] = False
        self._learn(x, corr, rr_pre, local, clean)
        return labels

    def _level(self, corr: FloatArray, rows: list[FloatArray | None]) -> float:
        """The stretch's noise level: the lower quartile of `unlike` over the last
        `_LEVEL_BEATS` beats before this group (the group's own beats join after)."""
        h = self._unlike_hist
        level = sorted(h)[len(h) // 4] if len(h) >= GROUP else _NEUTRAL_LEVEL
        new = np.log(UNLIKE - np.minimum(corr, 1.0)).tolist()
        h.extend(v for v, r in zip(new, rows, strict=True) if r is not None)
        del h[:-_LEVEL_BEATS]
        return level

    def _clusters(
        self,
        x: FloatArray,
        norm: FloatArray,
        corr: FloatArray,
        log_rr: FloatArray,
        noisy: list[bool],
        soft: list[bool],
    ) -> FloatArray:
        """`cluster_pre` and `cluster_post` of the group's beats (2 x k), from the morphologies
        known at the start of the group; then the group's clean beats off the dominant template
        join (or start) one."""
        k = x.shape[0]
        out = np.zeros((2, k))
        off = (corr < MATCH_CORR).nonzero()[0].tolist()
        if not off:
            return out
        self._groups += 1
        pre, post = log_rr[:-1].tolist(), log_rr[1:].tolist()
        unit = x[off] / norm[off, None]
        n_c = len(self._c_rr)
        if n_c:
            c = unit @ self._c_tpl.T
            best = c.argmax(axis=1).tolist()
            hit = (np.maximum.reduce(c, axis=1) >= MATCH_CORR).tolist()
        else:
            best, hit = [0] * len(off), [False] * len(off)
        for j, i in enumerate(off):
            if hit[j]:
                m = self._c_rr[best[j]]
                out[0, i], out[1, i] = m[0], m[1]
            else:
                out[0, i], out[1, i] = pre[i], post[i]
        r = _CLUSTER_RATE
        for j, i in enumerate(off):
            if noisy[i] or soft[i]:
                continue
            if hit[j]:
                b = best[j]
                m = self._c_rr[b]
                m[0] += r * (pre[i] - m[0])
                m[1] += r * (post[i] - m[1])
                t = (1.0 - r) * self._c_tpl[b] + r * unit[j]
                self._c_tpl[b] = t / (math.sqrt(float(t @ t)) + EPS)
                self._c_seen[b] = self._groups
            elif n_c < _CLUSTERS:
                self._c_tpl = (
                    unit[j : j + 1].copy() if not n_c else np.vstack((self._c_tpl, unit[j]))
                )
                self._c_rr.append([pre[i], post[i]])
                self._c_seen.append(self._groups)
                n_c += 1
            else:  # forget the morphology seen least recently
                b = self._c_seen.index(min(self._c_seen))
                self._c_tpl[b] = unit[j]
                self._c_rr[b] = [pre[i], post[i]]
                self._c_seen[b] = self._groups
        return out

    def _init(self, rows: list[FloatArray | None], noisy: list[bool], soft: list[bool]) -> bool:
        """First template: the mean of the beats alike to the most typical one of the group;
        the reference RR is the median interval before those beats."""
        use = [i for i, r in enumerate(rows) if r is not None and not noisy[i] and not soft[i]]
        if len(use) < GROUP // 2:
            return False
        x = np.stack([rows[i] for i in use])  # type: ignore[misc]
        z = x / (np.sqrt((x * x).sum(axis=1)) + EPS)[:, None]
        c = z @ z.T
        alike = c[int(c.sum(axis=1).argmax())] >= _INIT_CORR
        self._set_template(x[alike].mean(axis=0))
        beats = self._beats
        prev = [self._prev, *beats[: len(rows) - 1]]
        rr = [
            beats[i] - p
            for i, a in zip(use, alike.tolist(), strict=True)
            if a and (p := prev[i]) is not None
        ]
        self._ref = (
            float(np.median(rr))
            if rr
            else float(np.median(np.diff(beats[: len(rows)])))
            if len(rows) > 1
            else self.fs
        )
        if not math.isfinite(self._ref) or self._ref <= 0:
            self._ref = self.fs
        return True

    def _set_template(self, t: FloatArray) -> None:
        self._tpl = t
        self._t_stats = template_stats(t, self._pre)
        self._t_width = float(qrs_width(t[None, :])[0])

    def _learn(
        self,
        x: FloatArray,
        corr: FloatArray,
        rr: FloatArray,
        local: FloatArray,
        clean: npt.NDArray[np.bool_],
    ) -> None:
        ref = self._ref
        match = clean & (corr >= MATCH_CORR) & (rr >= 0.85 * ref)
        at = match.nonzero()[0].tolist()
        if at:
            self._miss = 0
            tpl = self._tpl
            assert tpl is not None
            self._set_template(
                (1.0 - _TPL_RATE) * tpl + _TPL_RATE * (np.add.reduce(x[at], axis=0) / len(at))
            )
            self._ref = (1.0 - _REF_RATE) * ref + _REF_RATE * _median(rr[at].tolist())
            return
        self._miss += 1
        if (
            self._miss >= RESEED_GROUPS
            and clean.all()
            and float(local.mean()) >= _RESEED_LOCAL
            and float(np.median(rr)) > 0.6 * self.fs
        ):
            self._set_template(x.mean(axis=0))
            self._ref = float(np.median(rr))
            self._miss = 0


def _median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def settle(
    labels: list[str], alike: list[bool], off: list[bool], soft: list[bool], last: str
) -> str:
    """Final labels from the model's, in beat order (changes `labels` in place; returns the
    last label, to carry into the next group):
    - a beat called N whose QRS is alike the previous beat's, that beat being V, and which
      does not match the dominant template (`off`) is V too: the same ectopic complex again.
      The model judges each beat on its own, and inside a run of ventricular beats the RR
      features look regular (no prematurity against the previous beat, no pause after it);
      without this a sustained VT would break into pieces;
    - a V in a doubtful stretch (`soft`) that is not alike the beat before it is Q."""
    for i, given in enumerate(labels):
        lab = given
        if lab == "N" and last == "V" and alike[i] and off[i]:
            lab = "V"
        if lab == "V" and soft[i] and not alike[i]:
            lab = "Q"
        labels[i] = last = lab
    return last
