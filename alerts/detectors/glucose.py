"""Glucose levels: `glucose.urgent_low`, `glucose.low`, `glucose.high` (fingerstick and CGM).

Limits are the patient's targets (defaults: ADA Standards of Care 2024, section 6: level 2
hypoglycaemia < 3.0 mmol/L / 54 mg/dL, level 1 < 3.9 mmol/L / 70 mg/dL; level 2 hyperglycaemia
> 13.9 mmol/L / 250 mg/dL). The two low levels are severities of one condition: one alert (group
`glucose.low`) whose code is `glucose.urgent_low` while the episode is at level 2 and
`glucose.low` at level 1, so a reading of 2.8 mmol/L raises one alert, not two, and the alert's
code and priority follow the level up and down (`alerts.lifecycle`). Cut-points honour the unit
the device reported (`base.glucose_below`).

Episodes end with hysteresis. A fingerstick is a deliberate, accurate check: one reading back in
range ends the episode (the ADA "rule of 15" recheck). A CGM reading is noisier (MARD ~9-10 %),
so a CGM episode ends after two consecutive readings beyond the limit by a margin (0.2 mmol/L
above a low limit, 0.5 mmol/L under the high limit); an urgent low steps down to a low by the
same rule at the urgent limit. Warm-up: none.

>>> from datetime import UTC, datetime
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> r = Reading("t", "m", Kind.GLUCOSE, 1, t, t, "p1", {"glucose": 2.8}, {"source": "cgm"})
>>> [(c.code, c.group) for c in GlucoseDetector(PatientContext("p1")).update(r)]
[('glucose.urgent_low', 'glucose.low')]
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
        self._low: str | None = None  # LOW or URGENT_LOW while a low episode is open
        self._high = False
        self._runs = {URGENT_LOW: 0, LOW: 0, HIGH: 0}  # readings in each clear zone
        self._last_ts: dict[str, datetime] = {}

    def update(self, reading: Reading) -> list[AlertCandidate]:
        source = str(reading.attrs.get("source", "fingerstick"))
        last = self._last_ts.get(source)
        if last is not None and reading.ts <= last:
            return []  # out of order or duplicate from this source
        self._last_ts[source] = reading.ts
        g = reading.values["glucose"]
        t = self.ctx.targets
        limits = {URGENT_LOW: t.glucose_urgent_low, LOW: t.glucose_low, HIGH: t.glucose_high}
        cgm = source == "cgm"
        margin = LOW_MARGIN if cgm else 0.0
        in_clear_zone = {
            URGENT_LOW: g >= limits[URGENT_LOW] + margin,
            LOW: g >= limits[LOW] + margin,
            HIGH: g <= limits[HIGH] - (HIGH_MARGIN if cgm else 0.0),
        }
        for code, inside in in_clear_zone.items():
            self._runs[code] = self._runs[code] + 1 if inside else 0
        needed = CGM_CLEAR_READINGS if cgm else 1
        pid = self.ctx.patient_id
        out: list[AlertCandidate] = []
        made: list[dict[str, object]] = []  # the reading's evidence, built once it is needed

        def evidence() -> dict[str, object]:
            if not made:
                made.append({"reading": {**reading_ref(reading), "source": source}})
            return made[0]

        def raise_(code: str) -> None:
            params = {"glucose": g, "limit": limits[code]}
            group = LOW if code in (LOW, URGENT_LOW) else None
            out.append(
                AlertCandidate(
                    pid, code, reading.ts, params=params, evidence=evidence(), group=group
                )
            )

        # the low family: level 2 (urgent), level 1, or back in range
        if glucose_below(g, limits[URGENT_LOW]):
            self._low = URGENT_LOW
        elif glucose_below(g, limits[LOW]):
            urgent_over = self._runs[URGENT_LOW] >= needed
            self._low = URGENT_LOW if self._low == URGENT_LOW and not urgent_over else LOW
        elif self._low is not None:
            if self._runs[LOW] >= needed:
                self._low = None
                out.append(
                    AlertCandidate(
                        pid, LOW, reading.ts, Action.CLEAR, evidence=evidence(), group=LOW
                    )
                )
            elif self._low == URGENT_LOW and self._runs[URGENT_LOW] >= needed:
                self._low = LOW  # stepped down, not yet back in range
                raise_(LOW)
        if self._low is not None and glucose_below(g, limits[LOW]):
            raise_(self._low)
        if glucose_above(g, limits[HIGH]):
            self._high = True
            raise_(HIGH)
        elif self._high and self._runs[HIGH] >= needed:
            self._high = False
            out.append(AlertCandidate(pid, HIGH, reading.ts, Action.CLEAR, evidence=evidence()))
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []
