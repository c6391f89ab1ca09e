"""Patient profiles: baselines and variability per condition, in one declarative table.

Values are typical for home-dwelling adults over 65 with each condition (treated hypertension
around 140-150/85 mmHg at home; type 2 diabetes on basal-bolus insulin with HbA1c ~7.5 %, mean
glucose ~9 mmol/L; type 1 diabetes with wider swings; permanent/paroxysmal AF with ventricular
rates 80-110 /min; sick sinus with resting rates in the 40s and pauses; heart failure with low
systolic pressure and higher resting rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from simulator.bp import BpProfile
from simulator.glucose import GlucoseProfile
from simulator.rhythm import Rhythm


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    bp: BpProfile = field(default_factory=BpProfile)
    glucose: GlucoseProfile = field(default_factory=GlucoseProfile)
    hr: float = 70.0
    rhythm: Rhythm = Rhythm.SINUS
    pvc_per_min: float = 0.0
    hrv: float = 0.04
    spo2: float = 96.0


_PROFILES: Final = (
    Profile("healthy", BpProfile(128, 76, 68), GlucoseProfile(basal=5.3), hr=68),
    Profile(
        "hypertensive",
        BpProfile(146, 86, 72, dip=0.08, surge=16, sd_systolic=8, white_coat=15),
        GlucoseProfile(basal=5.8),
        hr=72,
        pvc_per_min=0.5,
    ),
    Profile(
        "t2d_insulin",
        BpProfile(138, 80, 74),
        GlucoseProfile(basal=7.5, insulin=True, carb_ratio=8.0, bolus_error=0.3, wobble=0.8),
        hr=74,
    ),
    Profile(
        "t1d_cgm",
        BpProfile(126, 74, 70),
        GlucoseProfile(
            basal=7.0, insulin=True, carb_ratio=12.0, bolus_error=0.45, wobble=1.2, tau_meal=30
        ),
        hr=70,
    ),
    Profile(
        "paroxysmal_af", BpProfile(136, 82, 84, sd_systolic=9), hr=84, pvc_per_min=1.0, hrv=0.03
    ),
    Profile("sick_sinus", BpProfile(134, 74, 48), hr=48, hrv=0.06),
    Profile("heart_failure", BpProfile(108, 66, 86, dip=0.05), hr=86, pvc_per_min=2.0, spo2=93.0),
)

PROFILES: Final = MappingProxyType({p.name: p for p in _PROFILES})


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError as exc:
        raise ValueError(f"unknown profile {name!r}; one of {', '.join(PROFILES)}") from exc
