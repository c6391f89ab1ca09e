"""ECG chunk continuity per device: the one rule that says whether a chunk continues its stream.

A chunk's `ts` is the time of its first sample; the previous chunk of the same device ends at
`prev.ts + samples / fs`. The gateway judges each chunk once, at decode (`ContinuityTracker`), and
writes the verdict on the reading as flags; every consumer of ECG streams (the rhythm detector,
the derived beat series) reads the verdict with `verdict(reading)` instead of judging again:

- ``ecg_gap``: starts later than `TOLERANCE` after the previous chunk's end (lost samples);
- ``ecg_overlap``: starts earlier than `TOLERANCE` before it (re-sent or clock-adjusted samples);
- ``ecg_rate``: another sampling rate than the previous chunk;
- ``ecg_reordered``: its `seq` does not advance past the last judged chunk (a late or redelivered
  chunk, analysed already or out of order).

A gap, overlap or rate change *breaks* the stream: consumers restart their analysis rather than
stitch a discontinuous signal. A reordered chunk is stored (the samples are real) but not fed to a
stream. `TOLERANCE` is 0.25 s: stitching across it moves one beat interval by at most a quarter of
a typical RR, which the rhythm rules (rates over several beats, a 3 s pause, 30 s of AF) absorb,
while device clocks that stamp chunks by the wall clock jitter by tens of milliseconds; a longer
discontinuity could hide or fake a pause and must restart the analysis.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from devices.model import Reading

GAP: Final = "ecg_gap"
OVERLAP: Final = "ecg_overlap"
RATE: Final = "ecg_rate"
REORDERED: Final = "ecg_reordered"
BREAKS: Final = frozenset({GAP, OVERLAP, RATE})
TOLERANCE: Final = timedelta(milliseconds=250)


class Verdict(enum.StrEnum):
    """What a stream consumer does with a chunk."""

    CONTINUES = "continues"  # feed it to the current stream (or start one if there is none)
    BREAKS = "breaks"  # finish the current stream and start a new one with this chunk
    SKIP = "skip"  # do not feed it


def verdict(reading: Reading) -> Verdict:
    """The tracker's judgement of a chunk, read from its flags."""
    flags = reading.flags
    if not flags:
        return Verdict.CONTINUES
    if REORDERED in flags:
        return Verdict.SKIP
    return Verdict.BREAKS if flags & BREAKS else Verdict.CONTINUES


@dataclass(slots=True)
class _Tail:
    seq: int
    end: datetime
    fs: float


class ContinuityTracker:
    """Remembers where each device's last ECG chunk ended; `check` flags discontinuities."""

    def __init__(self, tolerance: timedelta = TOLERANCE) -> None:
        self.tolerance = tolerance
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
            return reading.evolve(reading.patient_id, reading.flags | {REORDERED})
        self._tails[reading.device_id] = _Tail(reading.seq, reading.end_ts, ecg.fs)
        if tail is None:
            return reading
        delta = reading.ts - tail.end
        attrs = dict(reading.attrs)
        flags = set()
        if ecg.fs != tail.fs:
            flags.add(RATE)
        if delta > self.tolerance:
            self.gaps += 1
            flags.add(GAP)
            attrs[f"{GAP}_ms"] = round(delta.total_seconds() * 1000.0, 3)
        elif -delta > self.tolerance:
            self.overlaps += 1
            flags.add(OVERLAP)
            attrs[f"{OVERLAP}_ms"] = round(-delta.total_seconds() * 1000.0, 3)
        if not flags:
            return reading
        return reading.evolve(reading.patient_id, reading.flags | flags, attrs)

    def forget(self, device_id: str) -> None:
        self._tails.pop(device_id, None)
