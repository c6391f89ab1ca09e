"""One ECG patch: clean ECG plus noise, quantised to int16 ADC units, served in chunks.

Samples are generated in fixed blocks (`block_s`), each with its own random stream derived from
(seed, block index), so a chunk's samples do not depend on how the caller slices time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from simulator.artefacts import NoiseEpisode, background, episode_noise
from simulator.ecg import CleanEcg
from simulator.rhythm import RhythmPlan

ADC_MIN, ADC_MAX = -32768, 32767


@dataclass(slots=True)
class EcgStream:
    """`chunk(k)` is samples [k*C, (k+1)*C) with C = fs * chunk_s, in ADC units (int32)."""

    fs: float
    plan: RhythmPlan
    seed: int
    noise: tuple[NoiseEpisode, ...] = ()
    gain: float = 200.0  # ADC units per mV
    baseline: int = 0
    block_s: float = 10.0
    chunk_s: float = 1.0
    _clean: CleanEcg | None = None
    _blocks: dict[int, npt.NDArray[np.int32]] = field(default_factory=dict)
    _next_block: int = 0
    _phase: float = 0.0

    def __post_init__(self) -> None:
        if not 125.0 <= self.fs <= 1000.0:
            raise ValueError(f"ECG sampling rate {self.fs} Hz outside 125..1000")
        rng = np.random.Generator(np.random.PCG64([self.seed, 0]))
        self._clean = CleanEcg.create(self.plan, rng)
        self._phase = float(rng.uniform(0, 2 * math.pi))

    @property
    def block_len(self) -> int:
        return round(self.fs * self.block_s)

    @property
    def chunk_len(self) -> int:
        return round(self.fs * self.chunk_s)

    def _render_block(self, b: int) -> npt.NDArray[np.int32]:
        assert self._clean is not None
        rng = np.random.Generator(np.random.PCG64([self.seed, 1, b]))
        n = np.arange(b * self.block_len, (b + 1) * self.block_len)
        t = n / self.fs
        mv = self._clean.render(t, rng)
        mv += background(t, rng, self._phase, self.fs)
        add, lead_off, saturate = episode_noise(t, self.noise, rng, self.fs)
        mv += add
        adc = np.round(mv * self.gain) + self.baseline
        adc = np.where(lead_off, self.baseline + np.round(0.002 * self.gain), adc)
        adc = np.clip(adc, ADC_MIN, ADC_MAX)
        adc[saturate & (adc > 0)] = ADC_MAX
        return adc.astype(np.int32)

    def _block(self, b: int) -> npt.NDArray[np.int32]:
        while self._next_block <= b:
            self._blocks[self._next_block] = self._render_block(self._next_block)
            self._next_block += 1
        for old in [k for k in self._blocks if k < b - 1]:
            del self._blocks[old]
        return self._blocks[b]

    def samples(self, start: int, stop: int) -> npt.NDArray[np.int32]:
        """ADC samples with indices [start, stop); requests must move forward in time."""
        bl = self.block_len
        parts = [
            self._block(b)[max(start - b * bl, 0) : min(stop - b * bl, bl)]
            for b in range(start // bl, (stop - 1) // bl + 1)
        ]
        return np.concatenate(parts)

    def chunk(self, k: int) -> npt.NDArray[np.int32]:
        return self.samples(k * self.chunk_len, (k + 1) * self.chunk_len)

    def millivolts(self, adc: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        return (adc.astype(np.float64) - self.baseline) / self.gain
