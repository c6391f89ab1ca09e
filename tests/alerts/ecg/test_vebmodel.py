"""The ventricular-beat model file: trees evaluated in numpy, the JSON round trip, checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alerts.ecg.beatmodel import FEATURES, shipped_model
from alerts.ecg.vebmodel import VebModel, model_from_json, model_to_json

N = len(FEATURES)


def stump_model(mix: float) -> VebModel:
    """One depth-2 tree: feature 0 above 1 -> right; then feature 1 above 0 -> right."""
    feat = np.array([[0, 1, 1]])
    thr = np.array([[1.0, 0.0, 0.0]])
    leaf = np.array([[-2.0, -1.0, 1.0, 2.0]])
    zeros = np.zeros(N)
    return VebModel(FEATURES, zeros, np.ones(N), zeros, 0.0, 2, feat, thr, leaf, 0.5, mix, 0.5)


def test_trees_route_each_beat_to_its_leaf() -> None:
    m = stump_model(0.0)
    f = np.zeros((N, 4))
    f[0] = [0.0, 0.0, 2.0, 2.0]
    f[1] = [-1.0, 1.0, -1.0, 1.0]
    assert m.trees(f).tolist() == [0.5 - 2.0, 0.5 - 1.0, 0.5 + 1.0, 0.5 + 2.0]
    p = m.prob(f)
    assert math.isclose(float(p[3]), 1.0 / (1.0 + math.exp(-2.5)))


def test_logistic_and_trees_are_averaged() -> None:
    m = stump_model(0.5)
    f = np.zeros((N, 1))
    # Logistic part: all weights 0, bias 0 -> 0.5; trees: leaf 0 -> base - 2.
    expect = 0.25 + 0.5 / (1.0 + math.exp(1.5))
    assert math.isclose(float(m.prob(f)[0]), expect)


def test_json_round_trip_keeps_every_call() -> None:
    m = shipped_model()
    back = model_from_json(model_to_json(m, {"data": "test"}), FEATURES)
    rng = np.random.default_rng(0)
    f = rng.normal(size=(N, 200))
    assert np.array_equal(m.prob(f), back.prob(f))
    assert back.threshold == m.threshold


def test_a_file_for_other_features_is_refused() -> None:
    text = model_to_json(stump_model(0.5), {})
    with pytest.raises(ValueError, match="expected version"):
        model_from_json(text, FEATURES[:-1])


def test_shape_errors_are_refused() -> None:
    zeros = np.zeros(N)
    with pytest.raises(ValueError, match="leaf"):
        VebModel(FEATURES, zeros, np.ones(N), zeros, 0.0, 2, np.zeros((1, 3), dtype=np.int64),
                 np.zeros((1, 3)), np.zeros((1, 3)), 0.0, 0.5, 0.5)  # fmt: skip
