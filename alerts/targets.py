"""Per-patient alert limits. Defaults come from guidelines; care teams override them per patient.

- BP crisis: systolic > 180 and/or diastolic > 120 mmHg (2017 ACC/AHA Hypertension Guideline).
- Hypotension: systolic < 90 mmHg (common clinical definition, e.g. ESC 2018 syncope guideline).
- BP target: < 140/90 mmHg for home-dwelling older adults (2018 ESC/ESH, 2018 Chinese Hypertension
  Guideline for those aged 65-79); frail elders may be given 150/90 by their doctor.
- Glucose: level 2 < 3.0 mmol/L (54 mg/dL), level 1 < 3.9 mmol/L (70 mg/dL), high > 13.9 mmol/L
  (250 mg/dL) (ADA Standards of Care 2024, section 6; International Consensus on Time in Range
  2019).
- Heart rate: bradycardia < 50 /min (2018 ACC/AHA/HRS bradycardia guideline uses < 50 for sinus
  bradycardia), tachycardia > 120 /min at rest as an alarm limit (> 100 defines tachycardia; 120
  keeps exertion at home from alarming).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Targets:
    crisis_systolic: float = 180.0
    crisis_diastolic: float = 120.0
    hypotension_systolic: float = 90.0
    target_systolic: float = 140.0
    target_diastolic: float = 90.0
    glucose_urgent_low: float = 3.0
    glucose_low: float = 3.9
    glucose_high: float = 13.9
    hr_low: float = 50.0
    hr_high: float = 120.0

    def __post_init__(self) -> None:
        if not self.glucose_urgent_low < self.glucose_low < self.glucose_high:
            raise ValueError("glucose limits must satisfy urgent_low < low < high")
        if not self.hypotension_systolic < self.target_systolic <= self.crisis_systolic:
            raise ValueError("BP limits must satisfy hypotension < target <= crisis")
        if not self.hr_low < self.hr_high:
            raise ValueError("hr_low must be below hr_high")

    def with_overrides(self, overrides: dict[str, Any]) -> Targets:
        """Apply a care team's per-patient overrides (unknown names are an error)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown target(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})


DEFAULT_TARGETS = Targets()
