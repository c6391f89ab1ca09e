"""The shipped ventricular-beat model: a logistic model and boosted trees, averaged.

Both read the per-beat `alerts.ecg.beatmodel.FEATURES`. The logistic part extrapolates
monotonically (a beat more unlike the template than any seen in training is more ventricular),
the trees capture interactions the logistic part cannot (a wide beat that comes on time in a
noisy stretch is not the same as a wide beat that comes early on a clean one). Their
probabilities are averaged with equal weight and compared with one threshold. Evaluation is a
few array operations per group of beats (no runtime beyond numpy).

The constants ship in `veb_model.json` beside this module (package data), written by
`make train-beats` (`bench/train_beats.py`), with the training data's hash and the
leave-one-record-out figures of the same procedure in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from alerts.ecg.filters import FloatArray

MODEL_FILE = "veb_model.json"
MODEL_VERSION = 1
CLIP = 5.0  # standardised logistic features are clipped to +-CLIP
_MAX_DEPTH = 3  # a tree's split outcomes index a table of 2**(2**depth - 1) patterns
NO_SPLIT = 1e300  # a tree node that does not split sends every beat left


@dataclass(frozen=True, slots=True)
class VebModel:
    """`prob` of each column of a feature matrix (features x beats) being ventricular."""

    features: tuple[str, ...]
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    bias: float
    depth: int
    tree_feature: np.ndarray[Any, np.dtype[np.int64]]  # trees x (2**depth - 1) split nodes
    tree_threshold: FloatArray  # go right when the feature is above
    tree_leaf: FloatArray  # trees x 2**depth leaf values (log-odds)
    tree_base: float
    mix: float  # weight of the logistic part
    threshold: float
    _table: FloatArray = field(init=False, repr=False, compare=False)
    _offsets: np.ndarray[Any, np.dtype[np.int64]] = field(init=False, repr=False, compare=False)
    _powers: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, nodes = len(self.features), (1 << self.depth) - 1
        if self.mean.shape != (n,) or self.scale.shape != (n,) or self.weights.shape != (n,):
            raise ValueError("logistic constants must have one value per feature")
        t = self.tree_feature.shape[0]
        if self.tree_feature.shape != (t, nodes) or self.tree_threshold.shape != (t, nodes):
            raise ValueError("trees must list every split node")
        if self.tree_leaf.shape != (t, nodes + 1):
            raise ValueError("trees must list every leaf")
        if t and not 0 <= int(self.tree_feature.min()) <= int(self.tree_feature.max()) < n:
            raise ValueError("tree feature index out of range")
        if not 0.0 <= self.mix <= 1.0 or not 0.0 < self.threshold < 1.0:
            raise ValueError("mix must lie in [0, 1] and threshold in (0, 1)")
        if self.depth > _MAX_DEPTH:
            raise ValueError(f"trees deeper than {_MAX_DEPTH} are not supported")
        # The leaf of every pattern of split outcomes (bit n: split node n goes right).
        codes = np.arange(1 << nodes)
        node = np.zeros(codes.size, dtype=np.int64)
        for _ in range(self.depth):
            node = 2 * node + 1 + ((codes >> node) & 1)
        table = self.tree_leaf[:, node - nodes]  # trees x patterns
        object.__setattr__(self, "_table", table.ravel())
        object.__setattr__(self, "_offsets", (np.arange(t) * codes.size)[:, None])
        object.__setattr__(self, "_powers", (1 << np.arange(nodes)).astype(np.float64))

    def prob(self, f: FloatArray) -> FloatArray:
        z = (f - self.mean[:, None]) / self.scale[:, None]
        lin = self.weights @ np.minimum(np.maximum(z, -CLIP), CLIP) + self.bias
        out: FloatArray = self.mix / (1.0 + np.exp(-lin))
        if self.mix < 1.0:
            out += (1.0 - self.mix) / (1.0 + np.exp(-self.trees(f)))
        return out

    def trees(self, f: FloatArray) -> FloatArray:
        """The boosted trees' log-odds of each column of `f`. Every split of every tree is
        compared at once (one gather, one comparison); a tree's comparisons, read as the bits
        of one number, index a table of the leaf each pattern of bits leads to (built once),
        so the whole forest costs a handful of array operations per group of beats."""
        t, nodes = self.tree_feature.shape
        bits = (f[self.tree_feature.ravel()] > self.tree_threshold.reshape(-1, 1)).reshape(
            t, nodes, f.shape[1]
        )
        code = np.matmul(self._powers, bits, dtype=np.float64).astype(np.int64)
        out: FloatArray = self.tree_base + self._table.take(code + self._offsets).sum(axis=0)
        return out


def model_from_json(text: str, expect: tuple[str, ...]) -> VebModel:
    """The model in a `veb_model.json` text, checked against this code's version and features."""
    raw: dict[str, Any] = json.loads(text)
    if raw.get("version") != MODEL_VERSION or tuple(raw.get("features", ())) != expect:
        raise ValueError(f"{MODEL_FILE}: expected version {MODEL_VERSION} over {expect}")
    lg, tr = raw["logistic"], raw["trees"]
    nodes = (1 << int(tr["depth"])) - 1
    return VebModel(
        features=expect,
        mean=np.asarray(lg["mean"], dtype=np.float64),
        scale=np.asarray(lg["scale"], dtype=np.float64),
        weights=np.asarray(lg["weights"], dtype=np.float64),
        bias=float(lg["bias"]),
        depth=int(tr["depth"]),
        tree_feature=np.asarray(tr["feature"], dtype=np.int64).reshape(-1, nodes),
        tree_threshold=np.asarray(tr["threshold"], dtype=np.float64).reshape(-1, nodes),
        tree_leaf=np.asarray(tr["leaf"], dtype=np.float64).reshape(-1, nodes + 1),
        tree_base=float(tr["base"]),
        mix=float(raw["mix"]),
        threshold=float(raw["threshold"]),
    )


def model_to_json(m: VebModel, training: dict[str, Any]) -> str:
    def r(a: FloatArray) -> Any:
        return np.round(a, 6).tolist()

    doc = {
        "version": MODEL_VERSION,
        "features": list(m.features),
        "logistic": {
            "mean": r(m.mean),
            "scale": r(m.scale),
            "weights": r(m.weights),
            "bias": round(m.bias, 6),
        },
        "trees": {
            "depth": m.depth,
            "base": round(m.tree_base, 6),
            "feature": m.tree_feature.tolist(),
            "threshold": np.minimum(m.tree_threshold, NO_SPLIT).tolist(),
            "leaf": r(m.tree_leaf),
        },
        "mix": m.mix,
        "threshold": m.threshold,
        "training": training,
    }
    return json.dumps(doc, indent=None, separators=(",", ":")) + "\n"


def load_shipped(expect: tuple[str, ...]) -> VebModel:
    return model_from_json(resources.files("alerts.ecg").joinpath(MODEL_FILE).read_text(), expect)
