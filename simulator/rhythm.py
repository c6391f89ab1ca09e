"""Beat trains: R-peak times and beat types for sinus rhythm, AF, brady/tachy, pauses, ectopy.

Sinus RR intervals carry heart-rate variability as two spectral peaks, the Mayer wave (~0.1 Hz,
baroreflex) and respiratory sinus arrhythmia (~0.25 Hz), the bimodal RR spectrum used by ECGSYN
(McSharry PE, Clifford GD, Tarassenko L, Smith LA. A dynamical model for generating synthetic
electrocardiogram signals. IEEE Trans Biomed Eng 2003;50(3):289-294). AF ventricular response is an
irregularly irregular series of independent RR draws with a coefficient of variation of ~0.2
(Tateno K, Glass L. Med Biol Eng Comput 2001;39:664-671 report RR CV well above 0.1 in AF).
Premature ventricular beats arrive at ~60 % of the running RR and are followed by a compensatory
pause so that the two intervals sum to two RRs; they come at random (`pvc_per_min`) or in a fixed
pattern (bigeminy: every second beat, trigeminy: every third), from one focus (unifocal: one
morphology) or two (multifocal). Ventricular tachycardia is a segment of ventricular beats at a
nearly fixed rate (monomorphic VT, RR jitter ~1 %); a non-sustained run is a short VT segment.

The train is built by a per-beat loop (about one iteration per second of signal, never per sample).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PATTERNS = {"random": 0, "bigeminy": 2, "trigeminy": 3}  # pattern -> cycle length (beats)


class Rhythm(enum.StrEnum):
    SINUS = "sinus"
    AF = "af"
    ASYSTOLE = "asystole"
    VT = "vt"  # ventricular tachycardia: every beat ventricular (monomorphic)


class Beat(enum.IntEnum):
    NORMAL = 0  # sinus: P wave present
    AF = 1  # conducted AF beat: no P wave
    PVC = 2  # premature ventricular: wide QRS, no P, discordant T
    PVC2 = 3  # from a second ventricular focus (multifocal ectopy): other axis, wide


@dataclass(frozen=True, slots=True)
class Segment:
    """From `start` to `end` (seconds on the stream's clock) the heart runs `rhythm` at `hr`."""

    start: float
    end: float
    rhythm: Rhythm
    hr: float = 70.0
    pvc_per_min: float = 0.0
    pvc_pattern: str = "random"  # or "bigeminy", "trigeminy"
    foci: int = 1  # ventricular foci of the ectopic beats (2: multifocal)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("segment end must follow its start")
        if self.pvc_pattern not in PATTERNS or self.foci not in (1, 2):
            raise ValueError(f"bad ectopy {self.pvc_pattern!r} with {self.foci} foci")
        if not 20.0 <= self.hr <= 250.0:
            raise ValueError(f"heart rate {self.hr} outside 20..250 /min")


@dataclass(frozen=True, slots=True)
class Pause:
    """No beat for `seconds` after the first beat at or after `at` (sinus arrest / AV block)."""

    at: float
    seconds: float


@dataclass(frozen=True, slots=True)
class RhythmPlan:
    """The rhythm timeline of one heart; outside every segment the base rhythm applies."""

    base_hr: float = 70.0
    base: Rhythm = Rhythm.SINUS
    segments: tuple[Segment, ...] = ()
    pauses: tuple[Pause, ...] = ()
    hrv: float = 0.04  # relative RR modulation amplitude (sinus)
    pvc_per_min: float = 0.0

    def at(self, t: float) -> Segment:
        for seg in reversed(self.segments):
            if seg.start <= t < seg.end:
                return seg
        return Segment(t, t + 1.0, self.base, self.base_hr, self.pvc_per_min)


@dataclass(slots=True)
class BeatTrain:
    """Incremental beat generator; `extend(until, rng)` appends beats up to `until` seconds."""

    plan: RhythmPlan
    phase_lf: float
    phase_hf: float
    times: list[float]
    kinds: list[int]
    _pending_pause: int = 0
    _since_pvc: int = 0  # beats since the last ectopic beat

    @classmethod
    def start(cls, plan: RhythmPlan, rng: np.random.Generator) -> BeatTrain:
        lf, hf = rng.uniform(0.0, 2 * math.pi, size=2)
        first = float(rng.uniform(0.0, 60.0 / plan.base_hr))
        return cls(plan, float(lf), float(hf), [first], [int(Beat.NORMAL)])

    def _sinus_rr(self, t: float, hr: float, rng: np.random.Generator) -> float:
        mod = 0.6 * math.sin(2 * math.pi * 0.1 * t + self.phase_lf) + 0.4 * math.sin(
            2 * math.pi * 0.25 * t + self.phase_hf
        )
        return 60.0 / hr * (1.0 + self.plan.hrv * mod + 0.005 * float(rng.standard_normal()))

    def extend(self, until: float, rng: np.random.Generator) -> None:
        pauses = self.plan.pauses
        while self.times[-1] < until:
            t = self.times[-1]
            seg = self.plan.at(t)
            if seg.rhythm is Rhythm.ASYSTOLE:
                # Flat line until the segment ends; the first beat after it resumes the rhythm.
                self.times.append(seg.end + 0.2)
                self.kinds.append(int(Beat.NORMAL))
                continue
            if seg.rhythm is Rhythm.AF:
                rr = max(0.28, 60.0 / seg.hr * float(rng.lognormal(0.0, 0.2)) / math.exp(0.02))
                kind = Beat.AF
            elif seg.rhythm is Rhythm.VT:
                self.times.append(t + 60.0 / seg.hr * (1.0 + 0.01 * float(rng.standard_normal())))
                self.kinds.append(int(Beat.PVC))
                self._since_pvc = 0
                continue
            else:
                rr = self._sinus_rr(t, seg.hr, rng)
                kind = Beat.NORMAL
            while self._pending_pause < len(pauses) and pauses[self._pending_pause].at <= t:
                rr = pauses[self._pending_pause].seconds
                self._pending_pause += 1
            cycle = PATTERNS[seg.pvc_pattern]
            if self.kinds[-1] in (Beat.PVC, Beat.PVC2):
                rr *= 1.4  # compensatory pause
            elif (cycle and self._since_pvc >= cycle - 1) or (
                not cycle and seg.pvc_per_min > 0 and rng.random() < seg.pvc_per_min * rr / 60.0
            ):
                rr *= 0.6
                kind = Beat.PVC2 if seg.foci == 2 and rng.random() < 0.5 else Beat.PVC
            self._since_pvc = 0 if kind in (Beat.PVC, Beat.PVC2) else self._since_pvc + 1
            nxt = t + rr
            landing = self.plan.at(nxt)
            if landing.rhythm is Rhythm.ASYSTOLE:
                nxt, kind = landing.end + 0.2, Beat.NORMAL
            self.times.append(nxt)
            self.kinds.append(int(kind))

    def window(self, t0: float, t1: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        """Beats whose waves can reach [t0, t1) (one beat of margin each side)."""
        times = np.asarray(self.times, dtype=np.float64)
        lo = max(int(np.searchsorted(times, t0 - 1.5)) - 1, 0)
        hi = int(np.searchsorted(times, t1 + 1.5)) + 1
        return times[lo:hi], np.asarray(self.kinds[lo:hi], dtype=np.int8)
