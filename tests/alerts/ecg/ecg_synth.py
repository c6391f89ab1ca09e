"""Synthetic ECG-like test signals (numpy only)."""

from __future__ import annotations

import numpy as np


def synth_ecg(fs: float, rr_s: list[float], noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """A crude ECG: Gaussian QRS spikes (1 mV, 10 ms) and T waves at the given RR intervals."""
    beats = np.cumsum([0.5, *rr_s])
    n = int((beats[-1] + 1.0) * fs)
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beats:
        x += np.exp(-((t - b) ** 2) / (2 * 0.01**2))
        x += 0.25 * np.exp(-((t - b - 0.25) ** 2) / (2 * 0.04**2))
    rng = np.random.default_rng(seed)
    return x + noise * rng.standard_normal(n) + 0.1 * np.sin(2 * np.pi * 0.2 * t)
