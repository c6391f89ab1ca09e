"""The small numpy network of the alternative ventricular-beat models."""

from __future__ import annotations

import numpy as np
import pytest

from bench.vebmlp import Mlp, best_threshold, fit_mlp


def blobs(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = (rng.random(n) < 0.2).astype(np.float64)
    x = rng.normal(0.0, 1.0, (n, 3))
    x[:, 0] += 3.0 * y  # the first feature separates the classes
    x[:, 1] = x[:, 1] * (1 + y)  # the second only in spread (not linearly)
    return x, y


def test_fits_separable_beats_and_is_deterministic() -> None:
    x, y = blobs()
    a = fit_mlp(x, y, hidden=8, l2=1e-4, epochs=30)
    b = fit_mlp(x, y, hidden=8, l2=1e-4, epochs=30)
    np.testing.assert_array_equal(a.w1, b.w1)
    p = a.prob(x)
    thr, f1 = best_threshold(p, y)
    assert f1 > 0.8
    assert 0.05 <= thr <= 0.95
    assert float(p[y > 0].mean()) > 0.6
    assert float(p[y == 0].mean()) < 0.2


def test_clips_out_of_range_features() -> None:
    x, y = blobs()
    m = fit_mlp(x, y, hidden=4, l2=1e-3, epochs=2)
    far = np.array([[1e9, 0.0, 0.0], [-1e9, 0.0, 0.0]])
    assert np.isfinite(m.prob(far)).all()


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one value per feature"):
        Mlp(np.zeros(2), np.ones(3), np.zeros((3, 4)), np.zeros(4), np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="hidden layer"):
        Mlp(np.zeros(3), np.ones(3), np.zeros((3, 4)), np.zeros(5), np.zeros(4), 0.0)
