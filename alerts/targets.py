"""Per-patient alert limits. Defaults come from guidelines; care teams override them per patient.

Defaults and their sources:
- BP crisis: systolic > 180 and/or diastolic > 120 mmHg (2017 ACC/AHA Hypertension Guideline,
  section 11.2, "hypertensive crises").
- Hypotension: systolic < 90 mmHg (common clinical definition, e.g. 2018 ESC syncope guideline).
- BP target: < 140/90 mmHg for home-dwelling older adults (2018 ESC/ESH; 2018 Chinese Hypertension
  Guideline for those aged 65-79); frail elders may be given 150/90 by their doctor.
- Uncontrolled BP: the mean of home readings over 7 days with at least 12 readings (2021 ESH
  practice guidelines for home BP monitoring: 3-7 days, morning and evening, >= 12 readings).
- Glucose: level 2 < 3.0 mmol/L (54 mg/dL), level 1 < 3.9 mmol/L (70 mg/dL), high > 13.9 mmol/L
  (250 mg/dL) (ADA Standards of Care 2024, section 6; International Consensus on Time in Range
  2019).
- Predicted low: 20 min horizon, the lead of commercial "urgent low soon" CGM alerts (Dexcom G6/G7).
- Heart rate: bradycardia < 50 /min (2018 ACC/AHA/HRS bradycardia guideline uses < 50 for sinus
  bradycardia), tachycardia > 120 /min at rest as an alarm limit (> 100 defines tachycardia; 120
  keeps exertion at home from alarming). Combined cardiovascular alerts use the definition (> 100),
  because the other condition is already abnormal on its own.

Every limit is in canonical units (mmHg, mmol/L, /min, min, days). `with_overrides` is what the
care team's API calls: it validates names, types and clinically sane bounds, then the relations
between limits, and raises `TargetError` (a ValueError carrying the offending fields).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from types import MappingProxyType
from typing import Any, Final


class TargetError(ValueError):
    """Invalid per-patient targets; `fields` names the offending ones (for a 422 response)."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


# Bounds a care team may set: wide enough for individual targets, narrow enough to catch unit
# mistakes (e.g. a glucose limit typed in mg/dL, a BP target in kPa).
BOUNDS: Final = MappingProxyType(
    {
        "crisis_systolic": (150.0, 260.0),
        "crisis_diastolic": (90.0, 160.0),
        "hypotension_systolic": (60.0, 120.0),
        "hypotension_relative_systolic": (60.0, 140.0),
        "target_systolic": (100.0, 180.0),
        "target_diastolic": (60.0, 110.0),
        "uncontrolled_window_days": (1.0, 60.0),
        "uncontrolled_min_count": (2.0, 200.0),
        "glucose_urgent_low": (2.0, 5.0),
        "glucose_low": (2.5, 7.0),
        "glucose_high": (8.0, 30.0),
        "predicted_low_horizon_min": (5.0, 60.0),
        "hr_low": (25.0, 80.0),
        "hr_high": (80.0, 200.0),
        "cv_hr": (80.0, 200.0),
    }
)


@dataclass(frozen=True, slots=True)
class Targets:
    crisis_systolic: float = 180.0
    crisis_diastolic: float = 120.0
    hypotension_systolic: float = 90.0
    # Relative ("symptomatic drop") hypotension applies below this systolic; see detectors/bp.py.
    hypotension_relative_systolic: float = 100.0
    target_systolic: float = 140.0
    target_diastolic: float = 90.0
    uncontrolled_window_days: float = 7.0
    uncontrolled_min_count: float = 12.0
    glucose_urgent_low: float = 3.0
    glucose_low: float = 3.9
    glucose_high: float = 13.9
    predicted_low_horizon_min: float = 20.0
    hr_low: float = 50.0
    hr_high: float = 120.0
    cv_hr: float = 100.0

    def __post_init__(self) -> None:
        bad = [
            f.name
            for f in fields(self)
            if not (isinstance(getattr(self, f.name), int | float))
            or not math.isfinite(getattr(self, f.name))
            or not BOUNDS[f.name][0] <= getattr(self, f.name) <= BOUNDS[f.name][1]
        ]
        if bad:
            detail = ", ".join(f"{n}={getattr(self, n)!r} not in {BOUNDS[n]}" for n in bad)
            raise TargetError(f"target(s) out of bounds: {detail}", tuple(bad))
        checks = (
            (
                self.glucose_urgent_low < self.glucose_low < self.glucose_high,
                "glucose limits must satisfy urgent_low < low < high",
                ("glucose_urgent_low", "glucose_low", "glucose_high"),
            ),
            (
                self.hypotension_systolic < self.target_systolic < self.crisis_systolic,
                "BP limits must satisfy hypotension < target < crisis (systolic)",
                ("hypotension_systolic", "target_systolic", "crisis_systolic"),
            ),
            (
                self.hypotension_systolic
                <= self.hypotension_relative_systolic
                < self.target_systolic,
                "relative hypotension limit must lie between hypotension and target",
                ("hypotension_relative_systolic",),
            ),
            (
                self.target_diastolic < self.crisis_diastolic,
                "diastolic target must be below the crisis limit",
                ("target_diastolic", "crisis_diastolic"),
            ),
            (self.hr_low < self.hr_high, "hr_low must be below hr_high", ("hr_low", "hr_high")),
            (
                self.uncontrolled_min_count == int(self.uncontrolled_min_count),
                "uncontrolled_min_count must be a whole number",
                ("uncontrolled_min_count",),
            ),
        )
        for ok, message, names in checks:
            if not ok:
                raise TargetError(message, names)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Targets:
        """Apply a care team's per-patient overrides (unknown names or bad values are an error).

        >>> DEFAULT_TARGETS.with_overrides({"target_systolic": 150}).target_systolic
        150.0
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TargetError(f"unknown target(s): {', '.join(unknown)}", tuple(unknown))
        values: dict[str, float] = {}
        for name, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TargetError(f"target {name} must be a number, not {value!r}", (name,))
            values[name] = float(value)
        return replace(self, **values)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def overrides(self) -> dict[str, float]:
        """The fields that differ from the guideline defaults (what to store per patient)."""
        return {k: v for k, v in self.to_dict().items() if v != getattr(DEFAULT_TARGETS, k)}


DEFAULT_TARGETS: Final = Targets()
