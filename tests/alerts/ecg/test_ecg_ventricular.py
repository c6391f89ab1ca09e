"""Beat classes (N, V, Q) and ventricular tachycardia runs of the streaming analyser."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import wfdb
from wfdb.processing import compare_annotations

from alerts.ecg import EcgAnalyzer, Episode, Label
from alerts.ecg.ventricular import GROUP
from gateway.ecgtool import BEAT_SYMBOLS, analyze_signal
from simulator.artefacts import Artefact, NoiseEpisode, background, episode_noise
from simulator.ecg import Beat, beats_to_mv

DATA = Path(
    os.environ.get("HMG_RECORDS", str(Path(__file__).parents[3] / ".." / "shared" / "data"))
)
FS = 250.0


def run(x: np.ndarray, fs: float, chunk: int) -> tuple[list[int], list[str], list[Episode]]:
    ana = EcgAnalyzer(fs)
    beats: list[int] = []
    labels: list[str] = []
    eps: list[Episode] = []
    for i in range(0, x.size, chunk):
        u = ana.feed(x[i : i + chunk])
        beats.extend(u.classified)
        labels.extend(u.labels)
        eps.extend(e for e in u.closed if e.label is Label.VT)
    u = ana.finish()
    eps.extend(e for e in u.closed if e.label is Label.VT)
    return [*beats, *u.classified], [*labels, *u.labels], eps


def mitdb(record: str, seconds: float) -> tuple[np.ndarray, float, np.ndarray, list[str]]:
    path = str(DATA / "ecg" / "mitdb" / record)
    rec = wfdb.rdrecord(path, channels=[0], sampto=int(seconds * 360))
    ann = wfdb.rdann(path, "atr", sampto=int(seconds * 360))
    keep = [(s, y) for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS]
    return rec.p_signal[:, 0], float(rec.fs), np.array([s for s, _ in keep]), [y for _, y in keep]


def rhythm_strip(
    plan: list[tuple[float, int]], seconds: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECG (mV at FS) of R-peak intervals and beat kinds `plan` ((rr seconds, kind) after an
    initial 0.5 s), with the simulator's background noise; returns signal, R times, kinds."""
    times = np.cumsum([0.5] + [rr for rr, _ in plan])
    kinds = np.array([int(Beat.NORMAL)] + [k for _, k in plan], dtype=np.int8)
    t = np.arange(int(seconds * FS)) / FS
    rng = np.random.default_rng(seed)
    x = beats_to_mv(t, times, kinds) + background(t, rng, 0.3, FS)
    return x, times, kinds


def sinus(n: int, rr: float = 0.85) -> list[tuple[float, int]]:
    return [(rr, int(Beat.NORMAL))] * n


def vt(n: int, rr: float = 0.4) -> list[tuple[float, int]]:
    return [(rr, int(Beat.PVC))] * n


def test_labels_align_with_beats_in_analyze_output() -> None:
    x, fs, _, _ = mitdb("119", 120)
    out = analyze_signal(x, fs)
    assert len(out["labels"]) == len(out["beats"])
    assert set(out["labels"]) <= {"N", "V", "F", "Q"}


@pytest.mark.parametrize("chunk", [1, 29, 360, 4000])
def test_chunked_equals_single_pass(chunk: int) -> None:
    x, fs, _, _ = mitdb("119", 60 if chunk == 1 else 300)
    whole = run(x, fs, x.size)
    assert "V" in whole[1]
    assert run(x, fs, chunk) == whole


def test_bigeminy_record_ventricular_beats() -> None:
    """MIT-BIH 119 (ventricular bigeminy and trigeminy): the V beats are found."""
    x, fs, ref, sym = mitdb("119", 600)
    beats, labels, _ = run(x, fs, 360)
    cmp = compare_annotations(ref, np.asarray(beats), round(0.15 * fs))
    matched = np.asarray(cmp.matching_sample_nums)
    tp = sum(1 for i, j in enumerate(matched) if j >= 0 and sym[i] == "V" and labels[j] == "V")
    n_ref = sym.count("V")
    n_det = labels.count("V")
    assert n_ref > 50
    assert tp >= 0.9 * n_ref
    assert tp >= 0.9 * n_det


def test_sustained_vt_is_one_episode_of_ventricular_beats() -> None:
    plan = sinus(40) + vt(60) + sinus(30)
    x, times, kinds = rhythm_strip(plan, 40 * 0.85 + 60 * 0.4 + 30 * 0.85 + 1.0)
    beats, labels, eps = run(x, FS, 250)
    assert len(eps) == 1
    ep = eps[0]
    first_v = times[kinds == Beat.PVC][0] * FS
    last_v = times[kinds == Beat.PVC][-1] * FS
    assert abs(ep.start - first_v) < 0.1 * FS
    assert abs((ep.end or 0) - last_v) < 0.1 * FS
    assert ep.mean_hr is not None
    assert 140 < ep.mean_hr < 160
    vb = [b for b, lab in zip(beats, labels, strict=True) if lab == "V"]
    assert 55 <= len(vb) <= 61
    assert all(first_v - 0.1 * FS <= b <= last_v + 0.1 * FS for b in vb)


def test_isolated_pvcs_and_slow_runs_are_not_vt() -> None:
    # Isolated PVCs with compensatory pauses, a couplet, and three V beats at 80 /min.
    plan = sinus(30)
    for _ in range(6):
        plan += [(0.5, int(Beat.PVC)), (1.2, int(Beat.NORMAL)), *sinus(6)]
    plan += [(0.5, int(Beat.PVC)), (0.45, int(Beat.PVC)), (1.2, int(Beat.NORMAL)), *sinus(8)]
    plan += vt(3, rr=0.75) + sinus(10)
    seconds = sum(rr for rr, _ in plan) + 1.5
    x, _, kinds = rhythm_strip(plan, seconds, seed=2)
    _, labels, eps = run(x, FS, 250)
    assert eps == []
    assert labels.count("V") >= 0.8 * int((kinds == Beat.PVC).sum())


@pytest.mark.parametrize("kind", [Artefact.MOTION, Artefact.EMG])
def test_motion_and_muscle_noise_do_not_make_vt(kind: Artefact) -> None:
    plan = sinus(200, rr=0.6)  # 100 /min sinus rhythm: any run of beats called V would be VT
    seconds = 0.6 * 200 + 1.0
    x, _, _ = rhythm_strip(plan, seconds, seed=4)
    t = np.arange(x.size) / FS
    rng = np.random.default_rng(5)
    noise, _, _ = episode_noise(
        t, (NoiseEpisode(20.0, 60.0, kind, 1.0), NoiseEpisode(80.0, 110.0, kind, 2.0)), rng, FS
    )
    _, _, eps = run(x + noise, FS, 250)
    assert eps == []


def test_state_stays_small() -> None:
    x, fs, _, _ = mitdb("119", 300)
    ana = EcgAnalyzer(fs)
    for i in range(0, x.size, 360):
        ana.feed(x[i : i + 360])
    clf = ana.classifier
    assert clf is not None
    assert clf.nbytes < (GROUP + 2) * 1024
