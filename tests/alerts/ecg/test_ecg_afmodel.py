"""AF window model: running sums equal their plain definitions; P waves weigh against AF."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alerts.ecg import EcgAnalyzer, Episode, Label, afmodel
from tests.alerts.ecg.ecg_synth import synth_ecg


def synth(fs: float, rr: list[float], atrial: str, seed: int = 0) -> np.ndarray:
    out: np.ndarray = synth_ecg(fs, rr, seed=seed, atrial=atrial, wander=0.0)
    return out


def run(
    x: np.ndarray, fs: float, chunk: int
) -> tuple[float, list[tuple[int, int, tuple[float, ...]]]]:
    ana = EcgAnalyzer(fs)
    trace: list[tuple[int, int, tuple[float, ...]]] = []
    ana.rhythm.trace = trace
    eps: list[Episode] = []
    for i in range(0, x.size, chunk):
        eps.extend(ana.feed(x[i : i + chunk]).closed)
    eps.extend(ana.finish().closed)
    return sum(e.duration_s(fs) for e in eps if e.label is Label.AF), trace


def test_p_waves_before_every_beat_keep_an_irregular_rhythm_from_being_af() -> None:
    fs = 250.0
    rr = list(np.random.default_rng(7).uniform(0.65, 0.95, 150))
    af_p, trace_p = run(synth(fs, rr, "p"), fs, 250)
    af_f, trace_f = run(synth(fs, rr, "f"), fs, 250)
    assert af_f > 100.0  # the same RR series with fibrillatory waves is AF throughout
    assert af_p < 0.25 * af_f
    p_corr = afmodel.FEATURES.index("p_corr")
    assert np.median([f[p_corr] for *_, f in trace_p]) > 0.8
    assert np.median([f[p_corr] for *_, f in trace_f]) < 0.3


@pytest.mark.parametrize("chunk", [1, 97, 1000])
def test_window_features_do_not_depend_on_chunking(chunk: int) -> None:
    fs = 250.0
    rr = list(np.random.default_rng(3).uniform(0.5, 1.1, 60))
    x = synth(fs, rr, "f")
    assert run(x, fs, chunk) == run(x, fs, x.size)


def test_score_treats_missing_features_as_their_mean_and_clips_outliers() -> None:
    mean = afmodel.MU
    assert afmodel.score(mean) == pytest.approx(afmodel.B0)
    k = afmodel.FEATURES.index("p_corr")
    missing = tuple(math.nan if i == k else v for i, v in enumerate(mean))
    assert afmodel.score(missing) == pytest.approx(afmodel.B0)
    far = tuple(v + (1e6 if i == k else 0.0) for i, v in enumerate(mean))
    assert afmodel.score(far) == pytest.approx(afmodel.B0 + afmodel.CLIP * afmodel.W[k])


def test_trace_spans_are_the_labelled_intervals_that_make_up_af_episodes() -> None:
    """Each traced window names the interval it labels, so the AF episodes are exactly the runs
    of consecutive intervals the model calls AF (what `bench/train_af.py` relies on)."""
    fs = 250.0
    rng = np.random.default_rng(5)
    rr = [*rng.uniform(0.7, 0.75, 40), *rng.uniform(0.45, 1.1, 80), *rng.uniform(0.7, 0.75, 40)]
    x = np.concatenate(
        (synth(fs, rr[:40], "p"), synth(fs, rr[40:120], "f", 1), synth(fs, rr[120:], "p", 2))
    )
    ana = EcgAnalyzer(fs)
    trace: list[tuple[int, int, tuple[float, ...]]] = []
    ana.rhythm.trace = trace
    eps = [*ana.feed(x).closed, *ana.finish().closed]
    af = [e for e in eps if e.label is Label.AF]
    assert af
    runs: list[tuple[int, int]] = []
    prev_af = False
    for start, end, f in trace:
        now = afmodel.is_af(f)
        if now and prev_af:
            runs[-1] = (runs[-1][0], end)
        elif now:
            runs.append((start, end))
        prev_af = now
    assert [(e.start, e.end) for e in af] == runs
    starts = [s for s, _, _ in trace]
    assert starts == sorted(starts)
    assert all(s < e for s, e, _ in trace)


def test_the_model_ships_as_a_versioned_file_with_its_training_data_hash() -> None:
    model = afmodel.MODEL
    assert model["version"] == afmodel.MODEL_VERSION
    assert tuple(model["features"]) == afmodel.FEATURES
    assert len(model["w"]) == len(model["mu"]) == len(model["sd"]) == len(afmodel.FEATURES)
    assert all(sd > 0 for sd in model["sd"])
    training = model["training"]
    assert len(training["sha256"]) == 64
    assert training["records"] > 1000
    assert 0.0 < training["cross_validated"]["nested_cv_f1"] < 1.0


def test_a_model_file_of_another_version_is_refused() -> None:
    raw = dict(afmodel.MODEL)
    raw["version"] = afmodel.MODEL_VERSION + 1
    with pytest.raises(ValueError, match="version"):
        afmodel.parse_model(json.dumps(raw))
    assert afmodel.parse_model(json.dumps(afmodel.MODEL)) == afmodel.MODEL
