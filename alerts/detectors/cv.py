"""Multi-signal cardiovascular alerts (`cv.*`): conditions from different kinds, one patient.

- `cv.crisis_with_arrhythmia` (high, immediate referral): a confirmed hypertensive crisis together
  with atrial fibrillation or tachycardia. Severe hypertension with tachycardia or new AF is a
  red flag for hypertensive emergency with acute end-organ damage (ACS, acute heart failure,
  stroke): 2017 ACC/AHA Hypertension Guideline section 11.2 and the 2019 ESC position on
  hypertensive emergencies (van den Born et al., Eur Heart J CV Pharmacother 5:37); hypertension is
  the leading stroke risk factor in AF (2020 ESC AF guideline, CHA2DS2-VASc), and uncontrolled BP
  in AF raises both ischaemic and haemorrhagic stroke risk.
- `cv.hypoglycaemia_with_tachycardia` (high): glucose below the low limit together with
  tachycardia. Hypoglycaemia triggers a sympatho-adrenal surge; in older people with diabetes it
  provokes arrhythmias and ischaemia (Chow et al. 2014, Diabetes 63:1738; the "dead in bed"
  mechanism), and tachycardia shows the episode is already haemodynamically active.

Inputs, kept simple: heart rate comes from `hr` readings and from the BP cuff's `pulse`, and from
the candidates of other detectors, which the engine hands to `observe` (this detector never reads
their state): `bp.hypertensive_crisis`, `glucose.low` / `glucose.urgent_low`, and the ECG
analyser's `ecg.af` / `ecg.tachycardia` (`params["hr"]` if given). Tachycardia for these
combinations is heart rate > `targets.cv_hr` (100 /min, the definition), lower than the
single-signal alarm limit because the other condition is already abnormal.

Two conditions combine when each was last seen within `settings.cv_window` (default 30 min) of
the other; priorities per code come from `settings.cv_priorities`. A combined episode ends when
either component ends (its CLEAR, or a heart rate back under `cv_hr` - 5 with no AF or ECG
tachycardia open). Warm-up: none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from alerts.detectors.base import PatientContext, reading_ref
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

CRISIS_ARRHYTHMIA = "cv.crisis_with_arrhythmia"
HYPO_TACHY = "cv.hypoglycaemia_with_tachycardia"
HR_HYSTERESIS = 5.0

_CRISIS = "bp.hypertensive_crisis"
_LOWS = ("glucose.low", "glucose.urgent_low")
_AF = "ecg.af"
_ECG_TACHY = "ecg.tachycardia"


@dataclass(slots=True)
class _Cond:
    """One component condition: open or not, and when it was last seen and with what."""

    active: bool = False
    seen: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def set(self, at: datetime, detail: dict[str, Any]) -> None:
        self.active = True
        self.seen = at if self.seen is None or at > self.seen else self.seen
        self.detail = detail


class CardiovascularDetector:
    """Combines BP, glucose, heart rate and ECG rhythm findings for one patient."""

    name: ClassVar[str] = "cv"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.HR, Kind.BP})
    consumes: ClassVar[frozenset[str]] = frozenset({_CRISIS, *_LOWS, _AF, _ECG_TACHY})
    warm_up: ClassVar[str] = "none"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._crisis = _Cond()
        self._lows: dict[str, _Cond] = {c: _Cond() for c in _LOWS}
        self._af = _Cond()
        self._ecg_tachy = _Cond()
        self._hr = _Cond()  # heart rate above cv_hr from hr readings or cuff pulse
        self._hr_last: datetime | None = None
        self._open: dict[str, dict[str, Any]] = {}  # open code -> evidence last sent

    # -- inputs ---------------------------------------------------------------------------
    def update(self, reading: Reading) -> list[AlertCandidate]:
        hr = reading.values.get("hr" if reading.kind is Kind.HR else "pulse")
        if hr is None or (self._hr_last is not None and reading.ts <= self._hr_last):
            return []
        self._hr_last = reading.ts
        limit = self.ctx.targets.cv_hr
        if hr > limit:
            source = "hr" if reading.kind is Kind.HR else "bp_cuff_pulse"
            self._hr.set(reading.ts, {"hr": hr, "source": source, "reading": reading_ref(reading)})
        elif hr <= limit - HR_HYSTERESIS:
            self._hr.active = False
        return self._evaluate(reading.ts)

    def observe(self, candidate: AlertCandidate) -> list[AlertCandidate]:
        cond = {
            _CRISIS: self._crisis,
            _AF: self._af,
            _ECG_TACHY: self._ecg_tachy,
            **self._lows,
        }.get(candidate.code)
        if cond is None:
            return []
        if candidate.code in self._lows:
            # one low episode whose code follows its level: only the current level is active
            for code, low in self._lows.items():
                if code != candidate.code:
                    low.active = False
        if candidate.action is Action.CLEAR:
            cond.active = False
        else:
            detail = {"code": candidate.code, "at": format_ts(candidate.at), **candidate.params}
            cond.set(candidate.at, detail)
        return self._evaluate(candidate.at)

    # -- combination ----------------------------------------------------------------------
    def _recent(self, a: _Cond, b: _Cond) -> bool:
        window = self.ctx.settings.cv_window
        return (
            a.active
            and b.active
            and a.seen is not None
            and b.seen is not None
            and abs(a.seen - b.seen) <= window
        )

    def _tachy(self) -> _Cond | None:
        """The freshest open tachycardia source (reading HR or ECG), if any."""
        opts = [c for c in (self._hr, self._ecg_tachy) if c.active and c.seen is not None]
        return max(opts, key=lambda c: c.seen or datetime.min.replace(tzinfo=UTC)) if opts else None

    def _evaluate(self, at: datetime) -> list[AlertCandidate]:
        out: list[AlertCandidate] = []
        tachy = self._tachy()
        rhythm = self._af if self._recent(self._crisis, self._af) else None
        if rhythm is None and tachy is not None and self._recent(self._crisis, tachy):
            rhythm = tachy
        if rhythm is not None:
            is_af = rhythm is self._af
            hr = rhythm.detail.get("hr")
            rate = f" ({hr:.0f} /min)" if isinstance(hr, int | float) else ""
            rate_zh = f"（{hr:.0f} 次/分）" if isinstance(hr, int | float) else ""
            params: dict[str, Any] = {
                "rhythm": "atrial fibrillation" if is_af else f"tachycardia{rate}",
                "rhythm_zh": "心房颤动" if is_af else f"心动过速{rate_zh}",
                "hr": hr,
            }
            evidence = {"crisis": self._crisis.detail, "rhythm": rhythm.detail}
            out.extend(self._raise(CRISIS_ARRHYTHMIA, at, params, evidence))
        else:
            out.extend(self._end(CRISIS_ARRHYTHMIA, at))
        low = next(
            (c for c in (self._lows["glucose.urgent_low"], self._lows["glucose.low"]) if c.active),
            None,
        )
        if low is not None and tachy is not None and self._recent(low, tachy):
            params = {"glucose": low.detail.get("glucose"), "hr": tachy.detail.get("hr")}
            evidence = {"glucose": low.detail, "heart_rate": tachy.detail}
            out.extend(self._raise(HYPO_TACHY, at, params, evidence))
        else:
            out.extend(self._end(HYPO_TACHY, at))
        return out

    def _raise(
        self, code: str, at: datetime, params: dict[str, Any], evidence: dict[str, Any]
    ) -> list[AlertCandidate]:
        """Open, or update only when the evidence changed (a normal reading is no news)."""
        if self._open.get(code) == evidence:
            return []
        self._open[code] = evidence
        return [
            AlertCandidate(
                self.ctx.patient_id,
                code,
                at,
                priority=self.ctx.settings.cv_priorities.get(code),
                params={k: v for k, v in params.items() if v is not None},
                evidence=evidence,
            )
        ]

    def _end(self, code: str, at: datetime) -> list[AlertCandidate]:
        """End an open combined episode once a component has ended (not when time passes)."""
        if code not in self._open:
            return []
        components_open = (
            self._crisis.active and (self._af.active or self._tachy() is not None)
            if code == CRISIS_ARRHYTHMIA
            else any(c.active for c in self._lows.values()) and self._tachy() is not None
        )
        if components_open:
            return []
        del self._open[code]
        return [AlertCandidate(self.ctx.patient_id, code, at, Action.CLEAR)]

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []
