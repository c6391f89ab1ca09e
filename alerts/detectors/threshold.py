"""Threshold detectors for BP and glucose: one episode per excursion, cleared with hysteresis."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from alerts.detectors.base import PatientContext
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

# A crisis episode ends only when BP is back below the limit by this margin (mmHg), so readings
# hovering at the limit do not open and close alerts in turn.
BP_HYSTERESIS = 10.0
GLUCOSE_HYSTERESIS = 0.3  # mmol/L


class BloodPressureDetector:
    """`bp.hypertensive_crisis` and `bp.hypotension` from single cuff readings."""

    name: ClassVar[str] = "bp"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.BP})

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._crisis = False
        self._hypo = False

    def update(self, reading: Reading) -> list[AlertCandidate]:
        t = self.ctx.targets
        sys_, dia = reading.values["systolic"], reading.values["diastolic"]
        params = {"systolic": sys_, "diastolic": dia}
        evidence = {
            "reading": {
                "device_id": reading.device_id,
                "seq": reading.seq,
                "systolic": sys_,
                "diastolic": dia,
            }
        }
        out: list[AlertCandidate] = []
        pid = self.ctx.patient_id
        if sys_ > t.crisis_systolic or dia > t.crisis_diastolic:
            self._crisis = True
            out.append(
                AlertCandidate(
                    pid, "bp.hypertensive_crisis", reading.ts, params=params, evidence=evidence
                )
            )
        elif self._crisis and (
            sys_ <= t.crisis_systolic - BP_HYSTERESIS and dia <= t.crisis_diastolic - BP_HYSTERESIS
        ):
            self._crisis = False
            out.append(AlertCandidate(pid, "bp.hypertensive_crisis", reading.ts, Action.CLEAR))
        if sys_ < t.hypotension_systolic:
            self._hypo = True
            out.append(
                AlertCandidate(pid, "bp.hypotension", reading.ts, params=params, evidence=evidence)
            )
        elif self._hypo and sys_ >= t.hypotension_systolic + BP_HYSTERESIS:
            self._hypo = False
            out.append(AlertCandidate(pid, "bp.hypotension", reading.ts, Action.CLEAR))
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []


class GlucoseDetector:
    """`glucose.urgent_low`, `glucose.low` and `glucose.high` (fingerstick and CGM)."""

    name: ClassVar[str] = "glucose"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.GLUCOSE})

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._active: set[str] = set()

    def update(self, reading: Reading) -> list[AlertCandidate]:
        t = self.ctx.targets
        g = reading.values["glucose"]
        evidence = {
            "reading": {
                "device_id": reading.device_id,
                "seq": reading.seq,
                "glucose_mmol_l": round(g, 2),
                "source": reading.attrs.get("source", "fingerstick"),
            }
        }
        firing = set()
        if g < t.glucose_urgent_low:
            firing.add("glucose.urgent_low")
        if g < t.glucose_low:
            firing.add("glucose.low")
        if g > t.glucose_high:
            firing.add("glucose.high")
        clear_ok = {
            "glucose.urgent_low": g >= t.glucose_urgent_low + GLUCOSE_HYSTERESIS,
            "glucose.low": g >= t.glucose_low + GLUCOSE_HYSTERESIS,
            "glucose.high": g <= t.glucose_high - GLUCOSE_HYSTERESIS * 3,
        }
        out = [
            AlertCandidate(
                self.ctx.patient_id, code, reading.ts, params={"glucose": g}, evidence=evidence
            )
            for code in sorted(firing)
        ]
        for code in sorted(self._active - firing):
            if clear_ok[code]:
                out.append(AlertCandidate(self.ctx.patient_id, code, reading.ts, Action.CLEAR))
                self._active.discard(code)
        self._active |= firing
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []
