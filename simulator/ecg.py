"""Synthetic ECG as a sum of Gaussian waves per beat, generated in numpy blocks.

The morphology follows the ECGSYN dynamical model (McSharry PE, Clifford GD, Tarassenko L,
Smith LA. IEEE Trans Biomed Eng 2003;50(3):289-294): each beat is the sum of five Gaussian events
P, Q, R, S, T placed at fixed phases of the cardiac cycle. Here the limit cycle is written in
closed form on the time axis: event i of beat k sits at `R_k + offset_i * sqrt(RR_k)` with width
`width_i * sqrt(RR_k)` (ECGSYN's sqrt(RR) scaling of wave timing, a Bazett-like QT shortening at
higher rates), so any sampling rate and any block length give the same waveform. Offsets and widths
are ECGSYN's angles (P -pi/3, Q -pi/12, R 0, S pi/12, T pi/2) and widths (0.25, 0.1, 0.1, 0.1,
0.4 rad) converted at RR = 1 s. AF beats have no P wave and ride on a fibrillatory baseline (4-8 Hz
f-waves, 0.05-0.1 mV); premature ventricular beats are wide, without P, with a discordant T (a
second focus gives a wide, mainly negative complex with an upright T).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.rhythm import Beat, BeatTrain, Rhythm, RhythmPlan

F64 = npt.NDArray[np.float64]

_TWO_PI = 2 * math.pi
# Rows: beat type (Beat.NORMAL, Beat.AF, Beat.PVC, Beat.PVC2); columns: P, Q, R, S, T.
_OFFSET = (
    np.array(
        [
            [-math.pi / 3, -math.pi / 12, 0.0, math.pi / 12, math.pi / 2],
            [-math.pi / 3, -math.pi / 12, 0.0, math.pi / 12, math.pi / 2],
            [-math.pi / 3, -math.pi / 8, 0.0, math.pi / 6, math.pi / 1.8],
            [-math.pi / 3, -math.pi / 6, 0.0, math.pi / 7, math.pi / 1.8],
        ]
    )
    / _TWO_PI
)
_WIDTH = (
    np.array(
        [
            [0.25, 0.1, 0.1, 0.1, 0.4],
            [0.25, 0.1, 0.1, 0.1, 0.4],
            [0.25, 0.2, 0.3, 0.3, 0.5],
            [0.25, 0.25, 0.28, 0.25, 0.5],
        ]
    )
    / _TWO_PI
)
_AMP_MV = np.array(
    [
        [0.15, -0.12, 1.2, -0.25, 0.3],
        [0.0, -0.12, 1.2, -0.25, 0.3],
        [0.0, -0.3, 1.5, -0.6, -0.4],
        [0.0, 0.4, -1.3, 0.3, 0.45],
    ]
)


def beats_to_mv(t: F64, times: F64, kinds: npt.NDArray[np.int8], amp_scale: float = 1.0) -> F64:
    """The clean ECG in mV at sample times `t` from R-peak `times` (sorted) and beat `kinds`."""
    out = np.zeros_like(t)
    if times.size == 0:
        return out
    rr = np.diff(times, prepend=times[0] - 1.0).clip(0.3, 2.0)
    scale = np.sqrt(rr)
    idx = np.searchsorted(times, t)
    for shift in (-1, 0, 1):
        k = np.clip(idx + shift, 0, times.size - 1)
        kind = kinds[k].astype(np.intp)
        centre = times[k][:, None] + _OFFSET[kind] * scale[k][:, None]
        width = _WIDTH[kind] * scale[k][:, None]
        gauss = _AMP_MV[kind] * np.exp(-0.5 * ((t[:, None] - centre) / width) ** 2)
        valid = (idx + shift >= 0) & (idx + shift < times.size)
        out += np.where(valid, gauss.sum(axis=1), 0.0)
    return out * amp_scale


def fibrillatory_wave(t: F64, phase: float, amplitude: float = 0.07) -> F64:
    """AF f-waves: a 6 Hz carrier whose frequency wanders +-1.5 Hz, written as a closed-form phase
    so consecutive blocks join without a seam."""
    f0, df, fm = 6.0, 1.5, 0.13
    ph = _TWO_PI * f0 * t - df / fm * np.cos(_TWO_PI * fm * t + phase)
    am = amplitude * (1.0 + 0.3 * np.sin(_TWO_PI * 0.05 * t + 2 * phase))
    return am * np.sin(ph)


@dataclass(slots=True)
class CleanEcg:
    """The noise-free ECG of one heart following `plan`, rendered on demand in blocks."""

    plan: RhythmPlan
    train: BeatTrain
    f_phase: float
    amp_scale: float = 1.0

    @classmethod
    def create(cls, plan: RhythmPlan, rng: np.random.Generator) -> CleanEcg:
        train = BeatTrain.start(plan, rng)
        return cls(plan, train, float(rng.uniform(0, _TWO_PI)), float(rng.uniform(0.8, 1.2)))

    def render(self, t: F64, rng: np.random.Generator) -> F64:
        """mV at times `t` (seconds, ascending); blocks must be requested in time order."""
        self.train.extend(float(t[-1]) + 2.0, rng)
        times, kinds = self.train.window(float(t[0]), float(t[-1]))
        mv = beats_to_mv(t, times, kinds, self.amp_scale)
        af = np.zeros(t.shape, dtype=bool)
        for seg in self.plan.segments:
            if seg.rhythm is Rhythm.AF:
                af |= (t >= seg.start) & (t < seg.end)
        if self.plan.base is Rhythm.AF:
            covered = np.zeros(t.shape, dtype=bool)
            for seg in self.plan.segments:
                covered |= (t >= seg.start) & (t < seg.end)
            af |= ~covered
        if af.any():
            mv += np.where(af, fibrillatory_wave(t, self.f_phase), 0.0)
        return mv


__all__ = ["Beat", "CleanEcg", "beats_to_mv", "fibrillatory_wave"]
