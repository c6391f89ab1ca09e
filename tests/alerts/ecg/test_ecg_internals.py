"""Fast paths of the ECG stages give the same values as their plain definitions."""

from __future__ import annotations

import numpy as np
from scipy import signal

from alerts.ecg.beats import BeatQuality, WindowSqi
from alerts.ecg.episodes import Label
from alerts.ecg.filters import _ANCHOR, QrsFeature, StatefulFilter


def test_stateful_filter_equals_lfilter_bit_for_bit() -> None:
    b, a = signal.butter(2, [5.0, 15.0], btype="bandpass", fs=250.0)
    x = np.random.default_rng(3).normal(size=2000)
    f = StatefulFilter(b, a)
    pieces = [f(x[i : i + 333]) for i in range(0, x.size, 333)]
    ref, _ = signal.lfilter(b, a, x, zi=signal.lfilter_zi(b, a) * x[0])
    assert np.array_equal(np.concatenate(pieces), ref)


def test_qrs_feature_running_sum_matches_window_sum_across_anchor() -> None:
    """The running-sum integrator equals the plain moving average (to rounding), also after an
    exact restart, and is bit-identical for any blocking."""
    fs = 250.0
    x = np.random.default_rng(9).normal(size=int(1.3 * _ANCHOR))
    whole = QrsFeature(fs, (5.0, 15.0), 0.15)
    bp, mwi = whole(x)
    w = whole.width
    ext = np.concatenate((np.full(2, bp[0]), bp))
    d = (ext[2:] - ext[:-2]) * fs / 2.0
    ref = np.convolve(np.concatenate((np.zeros(w - 1), d * d)), np.full(w, 1.0 / w), "valid")
    assert np.allclose(mwi, ref, rtol=1e-9, atol=1e-9)
    pieces = QrsFeature(fs, (5.0, 15.0), 0.15)
    got = np.concatenate([pieces(x[i : i + 777])[1] for i in range(0, x.size, 777)])
    assert np.array_equal(got, mwi)


def test_window_sqi_labels_unlike_beats_as_noise_and_cuts_rhythm() -> None:
    """Beats that stop looking alike for longer than the window give one noise episode and bad
    intervals between the noisy beats; alike beats again close it, whatever the split."""
    fs = 250.0
    beats = list(range(0, 250 * 60, 250))
    corr: list[float | None] = [None] * 3 + [0.95] * 17 + [0.1] * 20 + [0.95] * 20
    for split in (1, 7, len(beats)):
        sqi = WindowSqi(fs, 10.0, 0.4)
        bad: list[tuple[int, int]] = []
        for i in range(0, len(beats), split):
            bad.extend(sqi.add(beats[i : i + split], corr[i : i + split]))
        sqi.finish(beats[-1] + 1)
        _, closed = sqi.log.take()
        assert [(e.label, e.detail) for e in closed] == [(Label.NOISE, "beats")]
        ep = closed[0]
        assert ep.end is not None
        assert 20 * 250 - 2500 <= ep.start <= 20 * 250 + 250 < ep.end <= 50 * 250
        assert bad
        assert all(ep.start <= s < e <= ep.end for s, e in bad)


def test_p_wave_correlation_high_with_p_waves_low_with_fibrillatory_waves() -> None:
    fs = 250.0
    t = np.arange(int(40 * fs)) / fs
    rng = np.random.default_rng(1)
    beats = np.cumsum(rng.uniform(0.6, 1.1, size=40))
    beats = beats[beats < 38.0]
    qrs = sum(np.exp(-((t - b) ** 2) / (2 * 0.012**2)) for b in beats)
    p_waves = sum(0.15 * np.exp(-((t - b + 0.2) ** 2) / (2 * 0.025**2)) for b in beats)
    phase = np.cumsum(rng.uniform(5.0, 8.0, size=t.size)) / fs
    f_waves = 0.1 * np.sin(2 * np.pi * phase)
    idx = [round(b * fs) for b in beats]
    means = []
    for x in (qrs + p_waves, qrs + f_waves):
        bq = BeatQuality(fs)
        bq.add(np.asarray(x, dtype=np.float64))
        bq.score(idx)
        p = [v for v in bq.p_corr if v is not None]
        assert len(p) > 20
        means.append(sum(p) / len(p))
    assert means[0] > 0.8
    assert means[1] < 0.35
