"""Blood pressure from single cuff readings: `bp.hypertensive_crisis` and `bp.hypotension`.

Crisis (2017 ACC/AHA Hypertension Guideline, section 11.2): systolic > 180 and/or diastolic > 120
mmHg. The guideline asks for the reading to be confirmed by a repeat measurement, and home cuffs
produce artefacts (movement, cuff position, arrhythmia). So a crisis reading that looks suspect is
not raised at once; instead the patient is asked to repeat (`bp.repeat_measurement`, low priority):

- a repeat within `settings.bp_repeat_window` that is again above the limit confirms the crisis
  (raised at high priority from the repeat),
- no repeat within the window escalates to the crisis anyway (raised from the suspect reading,
  evidence `confirmation: "repeat_not_taken"`), fired by `tick`,
- a repeat below the limit ends the request: the suspect reading was an artefact, no crisis.

A crisis reading is suspect when (documented, deliberately narrow rules):
1. its pulse pressure is implausible: < 20 mmHg or > 140 mmHg. A pulse pressure below ~25 % of
   systolic is "narrow" (low stroke volume), and under 20 mmHg at crisis levels is almost always
   a deflation artefact; > 140 mmHg exceeds the widest isolated systolic hypertension seen in
   population studies (Framingham pulse-pressure data rarely exceed 120 mmHg);
2. it is a single outlier among consistent readings: >= 3 readings in the last 7 days whose
   systolic range is <= 30 mmHg, and the new reading is > 50 mmHg systolic (or > 35 mmHg
   diastolic) above their median. Within-person home BP SD is ~10-12 mmHg (Stergiou et al.,
   ESH 2021 home BP), so a 50 mmHg jump is > 4 SD: plausible for a real crisis, which is why it is
   confirmed rather than discarded.
A plausible crisis reading raises the high-priority alert at once.

Hypotension: systolic < 90 mmHg. Symptomatic-drop rule (`rule: "relative_drop"`): systolic below
`targets.hypotension_relative_systolic` (100) with a shock index (pulse / systolic) >= 1.0 and,
when a baseline exists, >= 20 mmHg below the patient's median. A shock index >= 1 marks
haemodynamic compromise (Allgöwer & Burri 1967; in older adults, Kristensen et al. 2016), and a
20 mmHg fall is the consensus size of a clinically relevant drop (Freeman et al. 2011 orthostatic
hypotension consensus). It needs the cuff's pulse, so it never fires on BP alone.

Episodes end with hysteresis: the crisis when both values are 10 mmHg under the limits, the
hypotension when systolic is 10 mmHg above its limit and the relative rule no longer holds.
Warm-up: none for absolute limits; the outlier rule needs >= 3 baseline readings.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from alerts.detectors.base import PatientContext, reading_ref
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

BP_HYSTERESIS = 10.0  # mmHg
PULSE_PRESSURE_MIN = 20.0
PULSE_PRESSURE_MAX = 140.0
BASELINE_WINDOW = timedelta(days=7)
BASELINE_MIN = 3
BASELINE_MAX_RANGE = 30.0
OUTLIER_SYSTOLIC = 50.0
OUTLIER_DIASTOLIC = 35.0
SHOCK_INDEX = 1.0
RELATIVE_DROP = 20.0

CRISIS = "bp.hypertensive_crisis"
REPEAT = "bp.repeat_measurement"
HYPO = "bp.hypotension"


@dataclass(frozen=True, slots=True)
class _Bp:
    ts: datetime
    systolic: float
    diastolic: float
    pulse: float | None
    ref: dict[str, object]

    @classmethod
    def of(cls, r: Reading) -> _Bp:
        return cls(
            r.ts, r.values["systolic"], r.values["diastolic"], r.values.get("pulse"), reading_ref(r)
        )


def implausible_pulse_pressure(systolic: float, diastolic: float) -> bool:
    """True when systolic - diastolic is outside what a cuff measures on a beating heart."""
    return not PULSE_PRESSURE_MIN <= systolic - diastolic <= PULSE_PRESSURE_MAX


class BloodPressureDetector:
    """`bp.hypertensive_crisis` (with repeat confirmation) and `bp.hypotension`."""

    name: ClassVar[str] = "bp"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.BP})
    warm_up: ClassVar[str] = "none for limits; outlier guard after 3 readings in 7 days"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._history: deque[_Bp] = deque(maxlen=20)
        self._last_ts: datetime | None = None
        self._crisis = False
        self._hypo = False
        self._pending: tuple[_Bp, str] | None = None

    # -- helpers --------------------------------------------------------------------------
    def _cand(
        self, code: str, bp: _Bp, action: Action = Action.RAISE, **extra: Any
    ) -> AlertCandidate:
        params = {"systolic": bp.systolic, "diastolic": bp.diastolic}
        evidence: dict[str, Any] = {"reading": bp.ref, **extra}
        return AlertCandidate(
            self.ctx.patient_id, code, bp.ts, action, params=params, evidence=evidence
        )

    def _baseline(self, now: datetime) -> list[_Bp]:
        return [b for b in self._history if now - b.ts <= BASELINE_WINDOW]

    def _is_crisis(self, bp: _Bp) -> bool:
        t = self.ctx.targets
        return bp.systolic > t.crisis_systolic or bp.diastolic > t.crisis_diastolic

    def _suspect(self, bp: _Bp) -> str | None:
        if implausible_pulse_pressure(bp.systolic, bp.diastolic):
            return "implausible_pulse_pressure"
        base = self._baseline(bp.ts)
        if len(base) >= BASELINE_MIN:
            sys_ = [b.systolic for b in base]
            if max(sys_) - min(sys_) <= BASELINE_MAX_RANGE and (
                bp.systolic - statistics.median(sys_) > OUTLIER_SYSTOLIC
                or bp.diastolic - statistics.median(b.diastolic for b in base) > OUTLIER_DIASTOLIC
            ):
                return "outlier_among_consistent_readings"
        return None

    def _relative_hypo(self, bp: _Bp) -> bool:
        t = self.ctx.targets
        if bp.pulse is None or bp.systolic >= t.hypotension_relative_systolic:
            return False
        if bp.pulse / bp.systolic < SHOCK_INDEX:
            return False
        base = self._baseline(bp.ts)
        if len(base) >= BASELINE_MIN:
            return statistics.median(b.systolic for b in base) - bp.systolic >= RELATIVE_DROP
        return True

    def _escalate_pending(self) -> list[AlertCandidate]:
        assert self._pending is not None
        bp, reason = self._pending
        self._pending = None
        self._crisis = True
        self._history.append(bp)
        return [
            self._cand(REPEAT, bp, Action.CLEAR, outcome="repeat_not_taken"),
            self._cand(CRISIS, bp, confirmation="repeat_not_taken", suspect_reason=reason),
        ]

    # -- contract -------------------------------------------------------------------------
    def update(self, reading: Reading) -> list[AlertCandidate]:
        if self._last_ts is not None and reading.ts <= self._last_ts:
            return []  # out of order or duplicate: judged on the newest reading only
        self._last_ts = reading.ts
        bp = _Bp.of(reading)
        out: list[AlertCandidate] = []
        confirmed_from: _Bp | None = None
        if self._pending is not None:
            first, _reason = self._pending
            if bp.ts - first.ts > self.ctx.settings.bp_repeat_window:
                out.extend(self._escalate_pending())
            elif self._is_crisis(bp):
                self._pending = None
                confirmed_from = first
                out.append(self._cand(REPEAT, bp, Action.CLEAR, outcome="confirmed"))
            else:
                self._pending = None
                out.append(
                    self._cand(REPEAT, bp, Action.CLEAR, outcome="artefact", suspect=first.ref)
                )
        out.extend(self._crisis_rule(bp, confirmed_from))
        out.extend(self._hypo_rule(bp))
        if self._pending is None or self._pending[0] is not bp:
            self._history.append(bp)
        return out

    def _crisis_rule(self, bp: _Bp, confirmed_from: _Bp | None) -> list[AlertCandidate]:
        t = self.ctx.targets
        if self._is_crisis(bp):
            if self._crisis:
                return [self._cand(CRISIS, bp)]
            if confirmed_from is not None:
                self._crisis = True
                return [self._cand(CRISIS, bp, confirmation="repeat", first=confirmed_from.ref)]
            reason = self._suspect(bp)
            if reason is not None:
                self._pending = (bp, reason)
                return [self._cand(REPEAT, bp, suspect_reason=reason)]
            self._crisis = True
            return [self._cand(CRISIS, bp)]
        if self._crisis and (
            bp.systolic <= t.crisis_systolic - BP_HYSTERESIS
            and bp.diastolic <= t.crisis_diastolic - BP_HYSTERESIS
        ):
            self._crisis = False
            return [self._cand(CRISIS, bp, Action.CLEAR)]
        return []

    def _hypo_rule(self, bp: _Bp) -> list[AlertCandidate]:
        t = self.ctx.targets
        absolute = bp.systolic < t.hypotension_systolic
        relative = not absolute and self._relative_hypo(bp)
        if absolute or relative:
            self._hypo = True
            extra: dict[str, Any] = {"rule": "absolute" if absolute else "relative_drop"}
            if bp.pulse is not None:
                extra["shock_index"] = round(bp.pulse / bp.systolic, 2)
            return [self._cand(HYPO, bp, **extra)]
        if self._hypo and bp.systolic >= t.hypotension_systolic + BP_HYSTERESIS:
            self._hypo = False
            return [self._cand(HYPO, bp, Action.CLEAR)]
        return []

    def tick(self, now: datetime) -> list[AlertCandidate]:
        if self._pending is not None and now - self._pending[0].ts >= (
            self.ctx.settings.bp_repeat_window
        ):
            return self._escalate_pending()
        return []


__all__ = ["BloodPressureDetector", "implausible_pulse_pressure"]
