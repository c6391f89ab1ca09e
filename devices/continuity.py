"""ECG chunk continuity per device: consecutive chunks must continue each other.

A chunk's `ts` is the time of its first sample; the previous chunk of the same device ends at
`prev.ts + samples / fs`. A later start is a *gap* (lost or never sent samples), an earlier one an
*overlap* (re-sent or clock-adjusted samples). Both are flagged on the reading (`ecg_gap`,
`ecg_overlap`, with the size in `attrs`) so the analyser can restart its state instead of
stitching a discontinuous signal; neither is rejected, the samples are real. A chunk whose `seq`
does not advance (a redelivery) is not judged and does not move the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.model import Reading

GAP = "ecg_gap"
OVERLAP = "ecg_overlap"


@dataclass(slots=True)
class _Tail:
    seq: int
    end: datetime
    fs: float


class ContinuityTracker:
    """Remembers where each device's last ECG chunk ended; `check` flags discontinuities.

    `tolerance_samples` absorbs timestamp rounding (wire timestamps have millisecond precision).
    """

    def __init__(self, tolerance_samples: float = 1.5, min_tolerance_ms: float = 2.0) -> None:
        self.tolerance_samples = tolerance_samples
        self.min_tolerance = timedelta(milliseconds=min_tolerance_ms)
        self._tails: dict[str, _Tail] = {}
        self.gaps = 0
        self.overlaps = 0

    def check(self, reading: Reading) -> Reading:
        """The reading, flagged if it does not continue the device's previous chunk."""
        ecg = reading.ecg
        if ecg is None:
            return reading
        tail = self._tails.get(reading.device_id)
        if tail is not None and reading.seq <= tail.seq:
            return reading  # redelivery or reordering: the store de-duplicates
        self._tails[reading.device_id] = _Tail(reading.seq, reading.end_ts, ecg.fs)
        if tail is None:
            return reading
        tol = max(self.min_tolerance, timedelta(seconds=self.tolerance_samples / ecg.fs))
        delta = reading.ts - tail.end
        if delta > tol:
            self.gaps += 1
            flag, size = GAP, delta
        elif -delta > tol:
            self.overlaps += 1
            flag, size = OVERLAP, -delta
        else:
            return reading
        attrs = {**reading.attrs, f"{flag}_ms": round(size.total_seconds() * 1000.0, 3)}
        return reading.evolve(reading.patient_id, reading.flags | {flag}, attrs)

    def forget(self, device_id: str) -> None:
        self._tails.pop(device_id, None)
