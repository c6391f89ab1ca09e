"""Glucose levels: `glucose.urgent_low`, `glucose.low`, `glucose.high` (fingerstick and CGM).

Limits are the patient's targets (defaults: ADA Standards of Care 2024, section 6: level 2
hypoglycaemia < 3.0 mmol/L / 54 mg/dL, level 1 < 3.9 mmol/L / 70 mg/dL; level 2 hyperglycaemia
> 13.9 mmol/L / 250 mg/dL). The levels are nested, as in the ADA classification: a reading of
2.8 mmol/L is both level 1 and level 2, so both alerts are open (each is one episode).
Cut-points honour the unit the device reported (`base.glucose_below`).

Episodes end with hysteresis. A fingerstick is a deliberate, accurate check: one reading back in
range ends the episode (the ADA "rule of 15" recheck). A CGM reading is noisier (MARD ~9-10 %),
so a CGM episode ends after two consecutive readings beyond the limit by a margin (0.2 mmol/L
above a low limit, 0.5 mmol/L under the high limit). Warm-up: none.

>>> from datetime import UTC, datetime
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> r = Reading("t", "m", Kind.GLUCOSE, 1, t, t, "p1", {"glucose": 2.8}, {"source": "cgm"})
>>> [c.code for c in GlucoseDetector(PatientContext("p1")).update(r)]
['glucose.low', 'glucose.urgent_low']
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from alerts.detectors.base import PatientContext, glucose_above, glucose_below, reading_ref
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

LOW_MARGIN = 0.2  # mmol/L
HIGH_MARGIN = 0.5
CGM_CLEAR_READINGS = 2

URGENT_LOW = "glucose.urgent_low"
LOW = "glucose.low"
HIGH = "glucose.high"


class GlucoseDetector:
    """Level alerts from single glucose readings, one episode per excursion."""

    name: ClassVar[str] = "glucose"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.GLUCOSE})
    warm_up: ClassVar[str] = "none"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._active: set[str] = set()
        self._in_range_run: dict[str, int] = {}
        self._last_ts: dict[str, datetime] = {}

    def _limits(self) -> dict[str, float]:
        t = self.ctx.targets
        return {URGENT_LOW: t.glucose_urgent_low, LOW: t.glucose_low, HIGH: t.glucose_high}

    def update(self, reading: Reading) -> list[AlertCandidate]:
        source = str(reading.attrs.get("source", "fingerstick"))
        last = self._last_ts.get(source)
        if last is not None and reading.ts <= last:
            return []  # out of order or duplicate from this source
        self._last_ts[source] = reading.ts
        g = reading.values["glucose"]
        limits = self._limits()
        firing = {
            URGENT_LOW: glucose_below(g, limits[URGENT_LOW]),
            LOW: glucose_below(g, limits[LOW]),
            HIGH: glucose_above(g, limits[HIGH]),
        }
        cgm = source == "cgm"
        clear_zone = {
            URGENT_LOW: g >= limits[URGENT_LOW] + (LOW_MARGIN if cgm else 0.0),
            LOW: g >= limits[LOW] + (LOW_MARGIN if cgm else 0.0),
            HIGH: g <= limits[HIGH] - (HIGH_MARGIN if cgm else 0.0),
        }
        needed = CGM_CLEAR_READINGS if cgm else 1
        evidence = {"reading": {**reading_ref(reading), "source": source}}
        pid = self.ctx.patient_id
        out: list[AlertCandidate] = []
        for code in (LOW, URGENT_LOW, HIGH):
            if firing[code]:
                self._active.add(code)
                self._in_range_run[code] = 0
                params = {"glucose": g, "limit": limits[code]}
                out.append(AlertCandidate(pid, code, reading.ts, params=params, evidence=evidence))
            elif code in self._active:
                run = self._in_range_run.get(code, 0) + 1 if clear_zone[code] else 0
                self._in_range_run[code] = run
                if run >= needed:
                    self._active.discard(code)
                    out.append(
                        AlertCandidate(pid, code, reading.ts, Action.CLEAR, evidence=evidence)
                    )
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []
