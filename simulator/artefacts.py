"""ECG noise and artefacts, as additive signals over a block of sample times.

The noise classes are those of the MIT-BIH Noise Stress Test Database (Moody GB, Muldrow WE,
Mark RG. A noise stress test for arrhythmia detectors. Computers in Cardiology 1984;11:381-384):
baseline wander (respiration and electrode drift, < 1 Hz), muscle (EMG) noise (broadband), and
electrode-motion artefact (large low-frequency transients). Lead-off is a flat line at the ADC
rail-free baseline with a small offset; saturation is the ADC clipping at its int16 rails.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

F64 = npt.NDArray[np.float64]


class Artefact(enum.StrEnum):
    EMG = "emg"
    MOTION = "motion"
    WANDER = "wander"
    LEAD_OFF = "lead_off"
    SATURATION = "saturation"


@dataclass(frozen=True, slots=True)
class NoiseEpisode:
    """An artefact of `kind` from `start` to `end` seconds, `level` in mV (ignored for lead-off)."""

    start: float
    end: float
    kind: Artefact
    level: float = 0.5

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("noise episode end must follow its start")


def background(t: F64, rng: np.random.Generator, phase: float, fs: float) -> F64:
    """Always-present noise: respiratory wander, slow electrode drift, amplifier noise, 50 Hz."""
    wander = 0.05 * np.sin(2 * math.pi * 0.25 * t + phase) + 0.08 * np.sin(
        2 * math.pi * 0.03 * t + 2 * phase
    )
    mains = 0.01 * np.sin(2 * math.pi * 50.0 * t) if fs > 110.0 else 0.0
    return wander + mains + 0.008 * rng.standard_normal(t.size)


def episode_noise(
    t: F64, episodes: tuple[NoiseEpisode, ...], rng: np.random.Generator, fs: float
) -> tuple[F64, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Additive artefact signal for the block, and masks of lead-off and saturated samples."""
    add = np.zeros_like(t)
    lead_off = np.zeros(t.shape, dtype=bool)
    saturate = np.zeros(t.shape, dtype=bool)
    for ep in episodes:
        mask = (t >= ep.start) & (t < ep.end)
        if not mask.any():
            continue
        if ep.kind is Artefact.LEAD_OFF:
            lead_off |= mask
        elif ep.kind is Artefact.SATURATION:
            saturate |= mask
            add += np.where(mask, 40.0 * np.sign(np.sin(2 * math.pi * 0.7 * t)), 0.0)
        elif ep.kind is Artefact.EMG:
            b, a = signal.butter(2, min(0.99, 20.0 / (fs / 2)), btype="high")
            emg = signal.lfilter(b, a, rng.standard_normal(t.size))
            add += np.where(mask, ep.level * emg, 0.0)
        elif ep.kind is Artefact.MOTION:
            b, a = signal.butter(2, min(0.99, 3.0 / (fs / 2)))
            motion = signal.lfilter(b, a, rng.standard_normal(t.size)) * math.sqrt(fs / 6.0)
            add += np.where(mask, ep.level * motion, 0.0)
        else:
            add += np.where(mask, ep.level * np.sin(2 * math.pi * 0.4 * t), 0.0)
    return add, lead_off, saturate
