"""Streaming ECG analyser: chunking must not matter; beats on real and synthetic ECG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import wfdb
from wfdb.processing import compare_annotations

from alerts.ecg import EcgAnalyzer, EcgConfig, Episode, Label
from gateway.ecgtool import BEAT_SYMBOLS, analyze_signal
from tests.alerts.ecg.ecg_synth import synth_ecg

DATA = Path(
    os.environ.get("HMG_RECORDS", str(Path(__file__).parents[3] / ".." / "shared" / "data"))
)


def run(x: np.ndarray, fs: float, chunk: int) -> tuple[list[int], list[Episode]]:
    ana = EcgAnalyzer(fs)
    beats: list[int] = []
    eps: list[Episode] = []
    for i in range(0, x.size, chunk):
        u = ana.feed(x[i : i + chunk])
        beats.extend(u.beats)
        eps.extend(u.closed)
    u = ana.finish()
    # Closing order may follow the chunking (noise is known sooner than rhythm); content may not.
    return [*beats, *u.beats], sorted([*eps, *u.closed], key=lambda e: (e.start, e.label.value))


def mitdb(record: str, seconds: float) -> tuple[np.ndarray, float, np.ndarray]:
    path = str(DATA / "ecg" / "mitdb" / record)
    rec = wfdb.rdrecord(path, channels=[0], sampto=int(seconds * 360))
    ann = wfdb.rdann(path, "atr", sampto=int(seconds * 360))
    ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS])
    return rec.p_signal[:, 0], float(rec.fs), ref


@pytest.mark.parametrize("chunk", [1, 7, 250, 1000])
def test_chunked_equals_single_pass_real(chunk: int) -> None:
    x, fs, _ = mitdb("105", 60 if chunk == 1 else 300)
    whole = run(x, fs, x.size)
    assert run(x, fs, chunk) == whole


@pytest.mark.parametrize("chunk", [1, 13, 360])
def test_chunked_equals_single_pass_with_rhythm_events(chunk: int) -> None:
    rr = (
        [0.8] * 20
        + [3.5]
        + [0.8] * 10
        + [5.0]
        + list(np.random.default_rng(3).uniform(0.4, 1.2, 80))
    )
    x = synth_ecg(360.0, rr)
    x[(20 * 360) : (24 * 360)] = 0.0  # flat line
    whole = run(x, 360.0, x.size)
    assert whole[1]
    assert run(x, 360.0, chunk) == whole


def test_mitdb_100_first_five_minutes() -> None:
    x, fs, ref = mitdb("100", 300)
    beats, _ = run(x, fs, round(fs))
    cmp = compare_annotations(ref, np.array(beats), round(0.15 * fs))
    assert cmp.tp / (cmp.tp + cmp.fn) > 0.99
    assert cmp.tp / (cmp.tp + cmp.fp) > 0.99


@pytest.mark.parametrize("fs", [125.0, 250.0, 500.0, 1000.0])
def test_synthetic_beats_at_any_rate(fs: float) -> None:
    rr = [0.75] * 40
    beats, eps = run(synth_ecg(fs, rr), fs, round(fs))
    truth = np.round((0.5 + np.cumsum([0.0, *rr])) * fs)
    assert len(beats) == len(truth)
    assert np.max(np.abs(np.array(beats) - truth)) <= 0.03 * fs
    assert not [e for e in eps if e.label is not Label.NOISE]


def test_pause_asystole_and_noise() -> None:
    fs = 250.0
    x = synth_ecg(fs, [0.8] * 15 + [3.4] + [0.8] * 10 + [6.0] + [0.8] * 10)
    _beats, eps = run(x, fs, 250)
    labels = [e.label for e in eps]
    assert labels.count(Label.PAUSE) == 2
    assert labels.count(Label.ASYSTOLE) == 1
    flat = x.copy()
    flat[int(5 * fs) : int(15 * fs)] = 0.0
    _, eps = run(flat, fs, 250)
    noise = [e for e in eps if e.label is Label.NOISE]
    assert noise
    assert noise[0].detail == "flat"
    gaps = [e for e in eps if e.label in (Label.PAUSE, Label.ASYSTOLE)]
    assert all(e.start > 15 * fs for e in gaps)  # only the real asystole after the flat line


def test_rates_and_af() -> None:
    fs = 250.0
    _, slow = run(synth_ecg(fs, [1.5] * 30), fs, 250)
    assert [e.label for e in slow if e.label is not Label.NOISE] == [Label.BRADYCARDIA]
    assert slow[0].mean_hr == pytest.approx(40, abs=2)
    _, fast = run(synth_ecg(fs, [0.4] * 80), fs, 250)
    assert Label.TACHYCARDIA in [e.label for e in fast]
    rr = list(np.random.default_rng(7).uniform(0.45, 1.1, 150))
    _, af = run(synth_ecg(fs, rr), fs, 250)
    af_eps = [e for e in af if e.label is Label.AF]
    assert af_eps
    assert af_eps[0].duration_s(fs) > 60


def test_frequent_ectopics_are_not_af() -> None:
    fs = 250.0
    rr: list[float] = []
    for _ in range(40):  # trigeminy-like: two sinus beats, a premature beat and a pause
        rr += [0.9, 0.9, 0.55, 1.25]
    _, eps = run(synth_ecg(fs, rr), fs, 250)
    assert Label.AF not in [e.label for e in eps]


def test_analyze_signal_json_shape() -> None:
    x = synth_ecg(300.0, [0.8] * 12)
    out = analyze_signal(x, 300.0, EcgConfig())
    assert out["fs"] == 300.0
    assert len(out["beats"]) == 13
    assert all(set(e) == {"label", "start", "end"} for e in out["episodes"])


def test_until_never_runs_ahead_of_the_beats_still_to_come() -> None:
    """`until` of every update (also of feeds that only buffer samples) promises that no later
    update reports a beat before it; it never moves back and keeps up with the stream."""
    fs = 250.0
    x = synth_ecg(fs, [0.8] * 70)
    ana = EcgAnalyzer(fs)
    promised = 0
    for i in range(0, x.size, 100):
        u = ana.feed(x[i : i + 100])
        assert all(b >= promised for b in u.beats)
        assert u.until >= promised
        promised = u.until
    assert promised > x.size - 3 * fs * EcgConfig().block_s
    last = ana.finish()
    assert all(b >= promised for b in last.beats)
    assert last.until == x.size
