"""Share of ventricular ectopic beats over a trailing day, in hourly bins (small state).

A high burden of premature ventricular contractions is a reason to review treatment: PVC-induced
cardiomyopathy is reported from a burden of about 10 % of beats (Baman et al., Heart Rhythm
2010;7:865-869: burden in patients with reduced function 33 +- 13 %, lowest 10 %, best cut-off
24 %), and the 2017 AHA/ACC/HRS ventricular arrhythmia guideline (Al-Khatib et al., Circulation
2018;138:e272) names frequent PVCs (generally above 15 % of beats) as a cause of LV dysfunction
to be looked for. The limit is configurable (`EcgConfig.pvc_burden_pct`, default 10 %), and the
share is only judged once `pvc_burden_min_beats` classified beats lie in the window, so a short
recording cannot raise it.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

_HOUR_S = 3600


class PvcBurden:
    """Counts of N and V beats per hour (by the beats' own time) over the last `hours` hours."""

    def __init__(self, hours: int = 24) -> None:
        self.hours = hours
        self._bins: deque[list[int]] = deque()  # [hour index, beats, V beats], oldest first

    def add(self, at: datetime, labels: tuple[str, ...] | list[str]) -> None:
        """Beats classified at about `at` (Q beats are not counted)."""
        n = labels.count("N")
        v = labels.count("V")
        if not n + v:
            return
        hour = int(at.timestamp()) // _HOUR_S
        if self._bins and self._bins[-1][0] == hour:
            b = self._bins[-1]
            b[1] += n + v
            b[2] += v
        elif not self._bins or self._bins[-1][0] < hour:
            self._bins.append([hour, n + v, v])
        else:  # a late chunk of an earlier hour: count it in its own bin if still kept
            for b in self._bins:
                if b[0] == hour:
                    b[1] += n + v
                    b[2] += v
                    break
        while self._bins and self._bins[0][0] <= hour - self.hours:
            self._bins.popleft()

    def share(self, now: datetime) -> tuple[int, float]:
        """(beats, share of V beats) over the window ending at `now`."""
        first = int(now.timestamp()) // _HOUR_S - self.hours + 1
        beats = sum(b[1] for b in self._bins if b[0] >= first)
        v = sum(b[2] for b in self._bins if b[0] >= first)
        return beats, (v / beats if beats else 0.0)

    @property
    def covered_hours(self) -> int:
        return len(self._bins)
