"""Blood pressure physiology and cuff measurement.

- Circadian rhythm: a nocturnal dip of 10-20 % ("dipper" pattern) and a morning surge after
  waking (Kario K. Morning surge in blood pressure as a predictor of silent and clinical
  cerebrovascular disease in elderly hypertensives. Circulation 2003;107:1401-1406).
- Measurement variability: within-visit SD ~5-8 mmHg systolic, independent per reading (home BP
  reproducibility data summarised in the 2021 ESH practice guidelines for home BP monitoring).
- White-coat effect: readings taken in front of others (kiosks) run higher by a patient-specific
  amount (Pickering TG et al. JAMA 1988;259:225-228).
- Cuff artefacts: motion or a badly placed cuff give occasional gross errors.
Scenario `BpEvent`s override the true pressure for a time window (e.g. a hypertensive crisis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BpProfile:
    systolic: float = 132.0
    diastolic: float = 78.0
    pulse: float = 70.0
    dip: float = 0.12  # fractional night-time fall
    surge: float = 10.0  # mmHg systolic at ~07:30
    sd_systolic: float = 6.0
    sd_diastolic: float = 4.0
    white_coat: float = 8.0  # mmHg systolic at a kiosk
    artefact_rate: float = 0.0  # fraction of cuff readings with a gross error


@dataclass(frozen=True, slots=True)
class BpEvent:
    """From `start` to `end` (seconds from the stream origin) the true BP is this."""

    start: float
    end: float
    systolic: float
    diastolic: float
    pulse: float | None = None


@dataclass(frozen=True, slots=True)
class BpMeasurement:
    systolic: float
    diastolic: float
    pulse: float
    artefact: bool = False


def circadian_factor(hour: float, dip: float) -> float:
    """1 by day, 1 - dip at night, with smooth evening fall (22-23 h) and morning rise (6-7 h)."""
    night = 1.0 / (1.0 + math.exp(-(hour - 22.5) * 3)) + 1.0 / (1.0 + math.exp((hour - 6.5) * 3))
    return 1.0 - dip * min(night, 1.0)


def true_bp(profile: BpProfile, hour: float) -> tuple[float, float]:
    f = circadian_factor(hour, profile.dip)
    surge = profile.surge * math.exp(-0.5 * ((hour - 7.5) / 1.0) ** 2)
    return profile.systolic * f + surge, profile.diastolic * f + 0.5 * surge


def measure(
    profile: BpProfile,
    t: float,
    hour: float,
    rng: np.random.Generator,
    *,
    kiosk: bool = False,
    events: tuple[BpEvent, ...] = (),
) -> BpMeasurement:
    """One cuff reading at stream time `t` (s) and local clock `hour`."""
    z = rng.standard_normal(4)
    event = next((e for e in events if e.start <= t < e.end), None)
    if event is not None:
        sys_, dia = event.systolic + 3.0 * z[0], event.diastolic + 2.0 * z[1]
        pulse = (event.pulse or profile.pulse) + 2.0 * z[2]
        return BpMeasurement(sys_, dia, pulse)
    sys_, dia = true_bp(profile, hour)
    sys_ += profile.sd_systolic * z[0] + (profile.white_coat if kiosk else 0.0)
    dia += profile.sd_diastolic * z[1] + (0.5 * profile.white_coat if kiosk else 0.0)
    pulse = profile.pulse + 4.0 * z[2]
    if profile.artefact_rate and rng.random() < profile.artefact_rate:
        # Arm moved during deflation: the oscillometric envelope is misread, mostly upwards.
        sys_ += 25.0 + 10.0 * abs(z[3])
        pulse += 15.0
        return BpMeasurement(sys_, dia, pulse, artefact=True)
    return BpMeasurement(sys_, max(dia, 35.0), max(pulse, 35.0))
