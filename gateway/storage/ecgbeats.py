"""Derived ECG series for the time-series store: beat times with RR interval and heart rate.

One streaming `EcgAnalyzer` per device stream, fed the chunks in seq order as they are stored; a
chunk that breaks the stream by the gateway's one continuity rule (`devices.continuity`: a gap,
an overlap, a change of sampling rate) starts the stream afresh, and out-of-order or redelivered
chunks are not fed. Streams idle the longest are dropped first when more
than `max_streams` are open, so memory stays bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.ecg.analyzer import EcgAnalyzer
from devices.continuity import Verdict, verdict
from devices.model import Reading


@dataclass(frozen=True, slots=True)
class Beat:
    tenant: str
    patient_id: str | None
    device_id: str
    ts: datetime
    rr_ms: float
    hr: float


@dataclass
class _Stream:
    analyzer: EcgAnalyzer
    fs: float
    last_seq: int
    anchors: list[tuple[int, datetime]] = field(default_factory=list)
    last_beat: int | None = None


class BeatDeriver:
    def __init__(self, max_streams: int = 2000) -> None:
        self.max_streams = max_streams
        self._streams: OrderedDict[str, _Stream] = OrderedDict()

    def feed(self, r: Reading) -> list[Beat]:
        e = r.ecg
        if e is None:
            return []
        how = verdict(r)
        st = self._streams.get(r.device_id)
        if how is Verdict.SKIP or (st is not None and r.seq <= st.last_seq):
            return []  # redelivered or out of order: already analysed
        if st is None or how is Verdict.BREAKS or e.fs != st.fs:
            st = _Stream(EcgAnalyzer(e.fs), e.fs, r.seq - 1)
        self._streams[r.device_id] = st
        self._streams.move_to_end(r.device_id)
        while len(self._streams) > self.max_streams:
            self._streams.popitem(last=False)
        st.anchors.append((st.analyzer.received, r.ts))
        st.last_seq = r.seq
        update = st.analyzer.feed(e.millivolts())
        out = []
        for idx in update.beats:
            if st.last_beat is not None and idx > st.last_beat:
                rr = (idx - st.last_beat) / st.fs
                out.append(
                    Beat(
                        r.tenant, r.patient_id, r.device_id, self._time(st, idx), rr * 1000, 60 / rr
                    )
                )
            st.last_beat = idx
        # Beats are decided within a few seconds; older anchors are no longer needed.
        keep = st.analyzer.received - int(120 * st.fs)
        while len(st.anchors) > 1 and st.anchors[1][0] <= keep:
            st.anchors.pop(0)
        return out

    @staticmethod
    def _time(st: _Stream, idx: int) -> datetime:
        start, ts = st.anchors[0]
        for a_start, a_ts in st.anchors:
            if a_start > idx:
                break
            start, ts = a_start, a_ts
        return ts + timedelta(seconds=(idx - start) / st.fs)
