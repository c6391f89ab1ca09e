"""AF stage: running window statistics equal their plain definitions; short paroxysms in the
beats-only path; sample entropy."""

from __future__ import annotations

import numpy as np

from alerts.ecg import afmodel
from alerts.ecg.af import AfWindows, cosen, median
from alerts.ecg.config import EcgConfig
from alerts.ecg.episodes import Episode, EpisodeLog
from alerts.ecg.rhythm import RhythmAnalyzer


def test_af_window_counts_match_plain_median() -> None:
    """The running counts decide like the median of the whole window, including even windows
    split exactly at the threshold."""
    cfg = EcgConfig(af_short_beats=None)
    rng = np.random.default_rng(5)
    for trial in range(200):
        ana = AfWindows(250.0, cfg, EpisodeLog())
        n = int(rng.integers(1, 20))
        d = rng.choice([0.02, cfg.af_threshold, 0.2], size=n).tolist()
        if trial % 3 == 0:
            d = rng.uniform(0.0, 0.2, size=n).tolist()
        dropped = rng.integers(0, 2, size=n).tolist()
        entries = [
            (i, i + 1, v, None, int(k), None, (), 0)
            for i, (v, k) in enumerate(zip(d, dropped, strict=True))
        ]
        ana._af.extend(entries)
        ana._win_hi = n
        ana._win_high = sum(v > cfg.af_threshold for v in d)
        ana._win_dropped = sum(dropped)
        want = median(d) > cfg.af_threshold and sum(dropped) <= cfg.af_max_ectopic * (
            sum(dropped) + n
        )
        assert ana._af_window(0, n) == want


def test_running_window_sums_equal_sums_over_the_window() -> None:
    """The sliding sums and Lorenz cell count equal those recomputed from the window's entries."""
    fs = 250.0
    cfg = EcgConfig(af_window_beats=9)
    ana = RhythmAnalyzer(fs, cfg)
    checked = 0
    plain = ana.af._af_window

    def check(lo: int, hi: int) -> bool:
        nonlocal checked
        entries = ana.af._window(lo, hi)
        want = [sum(e[6][k] for e in entries) for k in range(afmodel.N_SUMS)]
        assert ana.af._win_sum == want
        assert len(ana.af._win_cells) == len({e[7] for e in entries})
        checked += 1
        return plain(lo, hi)

    ana.af._af_window = check  # type: ignore[method-assign]
    rng = np.random.default_rng(11)
    beats = np.cumsum(rng.uniform(0.3, 1.3, 300) * fs).astype(int).tolist()
    n = len(beats)
    corr: list[float | None] = [float(v) for v in rng.uniform(0.5, 1.0, n)]
    p_corr: list[float | None] = [None if v < 0.2 else float(v) for v in rng.uniform(0.0, 1.0, n)]
    bad = [(beats[100] + 1, beats[104] - 1)]  # a gap restarts the successive differences
    ana.update(beats, bad, beats[-1] + 1, corr, p_corr)
    ana.finish(beats[-1] + 1)
    assert checked > 150


def _af_beats(cfg: EcgConfig, beats: list[int], fs: float, chunk: int = 0) -> set[int]:
    """Beats (as RR interval ends) inside the AF episodes of a beats-only analysis, the beats
    handed over `chunk` at a time (all at once if 0)."""
    ana = RhythmAnalyzer(fs, cfg)
    step = chunk or len(beats)
    closed: tuple[Episode, ...] = ()
    for i in range(0, len(beats), step):
        part = beats[i : i + step]
        closed += ana.update(part, [], part[-1] + 1)[1]
    closed += ana.finish(beats[-1] + 1)[1]
    eps = [e for e in closed if e.label.value == "AF"]
    return {b for b in beats for e in eps if e.start < b <= (e.end or e.start)}


def test_short_paroxysm_is_af_only_with_the_short_rule() -> None:
    """A 30-beat irregular paroxysm between regular stretches is too short for the 65-beat
    window's median; the short rule labels most of it, and none of the regular beats."""
    fs = 250.0
    rng = np.random.default_rng(3)
    rr = [
        *(0.8 + 0.01 * rng.standard_normal(150)),
        *rng.uniform(0.4, 1.1, 30),
        *(0.8 + 0.01 * rng.standard_normal(150)),
    ]
    beats = np.cumsum(np.asarray(rr) * fs).astype(int).tolist()
    parox = set(beats[150:180])
    off = _af_beats(EcgConfig(af_short_beats=None), beats, fs)
    cfg = EcgConfig(af_short_beats=25, af_short_share=0.3, af_short_threshold=0.16)
    on = _af_beats(cfg, beats, fs)
    assert not off & parox
    assert _af_beats(cfg, beats, fs, chunk=7) == on  # the same in any chunking
    assert len(on & parox) >= 18
    assert len(on - parox) <= 2


def test_cosen_separates_irregular_from_sinus_rr() -> None:
    rng = np.random.default_rng(11)
    af = cosen(rng.uniform(0.4, 1.1, 60).tolist())
    sinus = cosen((0.8 + 0.02 * rng.standard_normal(60)).tolist())
    assert af > -1.4 > sinus
    assert np.isnan(cosen([0.8, 0.8]))
