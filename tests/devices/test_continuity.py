"""The one ECG continuity rule: judged once at decode, read by the detector and the beat series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from alerts.detectors.base import PatientContext
from alerts.detectors.ecg import EcgDetector
from devices.continuity import ContinuityTracker, Verdict, verdict
from devices.kinds import Kind
from devices.model import EcgChunk, Reading
from gateway.storage.ecgbeats import Beat, BeatDeriver
from tests.alerts.ecg.ecg_synth import synth_ecg

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FS = 250.0


def chunks(x: npt.NDArray[np.float64], jumps: dict[int, float] | None = None) -> list[Reading]:
    """One-second chunks of `x` (mV); `jumps[i]` shifts chunk i and later by that many seconds."""
    out, shift = [], 0.0
    for i, lo in enumerate(range(0, x.size, int(FS))):
        shift += (jumps or {}).get(i, 0.0)
        adc = np.round(x[lo : lo + int(FS)] * 200).astype(np.int32)
        ts = T0 + timedelta(seconds=lo / FS + shift)
        out.append(
            Reading(
                "t", "patch-1", Kind.ECG, i, ts, ts, "p1", ecg=EcgChunk(FS, "II", 200.0, 0, adc)
            )
        )
    return out


def test_verdicts_from_the_tracker() -> None:
    tr = ContinuityTracker()
    rs = chunks(np.zeros(int(6 * FS)), {2: 0.1, 3: 1.0, 4: -0.6})
    judged = [tr.check(r) for r in [*rs, rs[5]]]
    assert [verdict(r) for r in judged] == [
        Verdict.CONTINUES,
        Verdict.CONTINUES,
        Verdict.CONTINUES,  # 0.1 s: clock jitter, within tolerance
        Verdict.BREAKS,  # 1 s gap
        Verdict.BREAKS,  # 0.6 s overlap
        Verdict.CONTINUES,
        Verdict.SKIP,  # redelivered
    ]
    other_rate = Reading(
        "t",
        "patch-1",
        Kind.ECG,
        9,
        rs[5].end_ts,
        T0,
        "p1",
        ecg=EcgChunk(500.0, "II", 200.0, 0, np.zeros(500, dtype=np.int32)),
    )
    assert verdict(tr.check(other_rate)) is Verdict.BREAKS


def _right_after(beats: list[Beat], end: datetime) -> list[Beat]:
    """Beats in the second after `end` that report an interval from a previous beat."""
    return [b for b in beats if end <= b.ts < end + timedelta(seconds=1)]


def test_detector_and_beat_series_restart_on_the_same_break() -> None:
    """One second of samples lost: stitched, the signal on both sides of the hole would be joined
    and the first beat after it would report an interval across it; judged once by the tracker,
    both consumers restart instead (that beat starts the new stream and reports no interval)."""
    x = synth_ecg(FS, [0.8] * 40)
    stream = chunks(x)
    lost = stream.pop(15)
    hole = (lost.ts, lost.end_ts)
    tr = ContinuityTracker()
    judged = [tr.check(r) for r in stream]
    assert verdict(judged[15]) is Verdict.BREAKS
    beats = BeatDeriver()
    series = [b for r in judged for b in beats.feed(r)]
    assert series
    assert not _right_after(series, hole[1])
    # The same chunks without the verdict: one stream, and a beat interval across the hole.
    stitched = BeatDeriver()
    assert _right_after([b for r in stream for b in stitched.feed(r)], hole[1])
    det = EcgDetector(PatientContext("p1"))
    cands = [c for r in judged for c in det.update(r)]
    assert not [c for c in cands if c.code in ("ecg.pause", "ecg.asystole")]
