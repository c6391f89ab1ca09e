"""`bp.uncontrolled`: the recent home-BP average stays above the patient's target.

A low-priority referral suggestion to the family doctor, not an emergency. Follows the 2021 ESH
practice guidelines for home BP monitoring: decisions use the *mean* of readings over several days
(default 7 days, at least 12 readings; both are per-patient targets). Readings with an implausible
pulse pressure are left out (see `alerts.detectors.bp`); single outliers barely move a mean of 12.

Warm-up: `uncontrolled_min_count` readings inside the window. The episode ends with hysteresis:
when the mean is back 5/3 mmHg under the target. Too few readings in the window keeps the current
state (sparse measuring is not evidence of control).

>>> from datetime import UTC, datetime, timedelta
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> det = BloodPressureTrendDetector(PatientContext("p1"))
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> out = []
>>> for i in range(12):
...     ts = t0 + timedelta(hours=12 * i)
...     r = Reading("t", "cuff", Kind.BP, i, ts, ts, "p1", {"systolic": 152, "diastolic": 84})
...     out = det.update(r)
>>> [c.code for c in out]
['bp.uncontrolled']
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import ClassVar

from alerts.detectors.base import PatientContext
from alerts.detectors.bp import implausible_pulse_pressure
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

CODE = "bp.uncontrolled"
CLEAR_MARGIN_SYSTOLIC = 5.0
CLEAR_MARGIN_DIASTOLIC = 3.0


class BloodPressureTrendDetector:
    """Mean BP over a sliding window of source time against the patient's target."""

    name: ClassVar[str] = "bp_uncontrolled"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.BP})
    warm_up: ClassVar[str] = "uncontrolled_min_count readings within uncontrolled_window_days"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._window: deque[tuple[datetime, float, float]] = deque()
        self._active = False

    def update(self, reading: Reading) -> list[AlertCandidate]:
        sys_, dia = reading.values["systolic"], reading.values["diastolic"]
        if self._window and reading.ts <= self._window[-1][0]:
            return []  # out of order: the mean is over the newest window only
        if implausible_pulse_pressure(sys_, dia):
            return []
        t = self.ctx.targets
        span = timedelta(days=t.uncontrolled_window_days)
        self._window.append((reading.ts, sys_, dia))
        while reading.ts - self._window[0][0] > span:
            self._window.popleft()
        n = len(self._window)
        if n < t.uncontrolled_min_count:
            return []
        mean_sys = sum(w[1] for w in self._window) / n
        mean_dia = sum(w[2] for w in self._window) / n
        above = mean_sys > t.target_systolic or mean_dia > t.target_diastolic
        params = {"systolic": mean_sys, "diastolic": mean_dia, "count": n}
        evidence = {
            "mean_systolic": round(mean_sys, 1),
            "mean_diastolic": round(mean_dia, 1),
            "count": n,
            "window_days": t.uncontrolled_window_days,
            "since": format_ts(self._window[0][0]),
            "target": f"{t.target_systolic:.0f}/{t.target_diastolic:.0f}",
        }
        pid = self.ctx.patient_id
        if above:
            self._active = True
            return [AlertCandidate(pid, CODE, reading.ts, params=params, evidence=evidence)]
        if self._active and (
            mean_sys <= t.target_systolic - CLEAR_MARGIN_SYSTOLIC
            and mean_dia <= t.target_diastolic - CLEAR_MARGIN_DIASTOLIC
        ):
            self._active = False
            return [AlertCandidate(pid, CODE, reading.ts, Action.CLEAR, evidence=evidence)]
        return []

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []
