"""Synthetic ECG-like test signals (numpy only)."""

from __future__ import annotations

import numpy as np


def synth_ecg(
    fs: float,
    rr_s: list[float],
    noise: float = 0.01,
    seed: int = 0,
    *,
    atrial: str = "none",
    wander: float = 0.1,
) -> np.ndarray:
    """A crude ECG: Gaussian QRS spikes (1 mV, 10 ms) and T waves at the given RR intervals, a
    0.2 Hz baseline wander of `wander` mV, and atrial activity: a P wave before every QRS (`p`),
    continuous 5-8 Hz fibrillatory waves (`f`) or none (`none`)."""
    beats = np.cumsum([0.5, *rr_s])
    n = int((beats[-1] + 1.0) * fs)
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beats:
        x += np.exp(-((t - b) ** 2) / (2 * 0.01**2))
        x += 0.25 * np.exp(-((t - b - 0.25) ** 2) / (2 * 0.04**2))
        if atrial == "p":
            x += 0.15 * np.exp(-((t - b + 0.18) ** 2) / (2 * 0.02**2))
    rng = np.random.default_rng(seed)
    if atrial == "f":
        phase = np.cumsum(rng.uniform(5.0, 8.0, size=n)) / fs
        x += 0.08 * np.sin(2 * np.pi * phase)
    return x + noise * rng.standard_normal(n) + wander * np.sin(2 * np.pi * 0.2 * t)
