"""ECG rhythm alerts from the streaming analyser (`alerts.ecg`), one analyser per ECG device.

Codes: `ecg.bradycardia`, `ecg.tachycardia` (sustained `rate_sustain_s`), `ecg.pause`,
`ecg.asystole`, `ecg.af` (only once an AF episode has lasted `af_alarm_s`, 30 s by default: the
ESC diagnostic minimum) and the technical `device.signal_quality` when a noise episode lasts
`noise_alarm_s`. Rhythm alarms are suppressed on noisy stretches by the analyser itself. Each
alert carries the episode bounds as times, the heart rate, and an ECG strip reference covering
10 s before and after the episode, for the clinician to review.

Pauses and asystole are events rather than lasting conditions: their alert is latched (in the
manner of IEC 60601-1-8 latching alarms). When the rhythm resumes the alert is updated with the
event's exact length and end, stays open for acknowledgement and escalation, takes in further
events on the same device, and resolves by itself only after `LATCH` without another one.

A chunk that does not continue the previous one of the same device (time gap or new sampling
rate) starts a new analyser. Warm-up: about 4 s of ECG (one processing block, `block_s`) before
the first beat decision; later decisions can also lag by up to one block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from alerts.detectors.base import PatientContext
from alerts.ecg import EcgAnalyzer, EcgConfig, EcgUpdate, Episode, Label
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

STRIP_MARGIN = timedelta(seconds=10)
MAX_JOIN_GAP = timedelta(seconds=2)  # a later chunk still continues the stream

LATCHED = frozenset({Label.PAUSE, Label.ASYSTOLE})
LATCH = timedelta(hours=1)

CODE_BY_LABEL = {
    Label.BRADYCARDIA: "ecg.bradycardia",
    Label.TACHYCARDIA: "ecg.tachycardia",
    Label.PAUSE: "ecg.pause",
    Label.ASYSTOLE: "ecg.asystole",
    Label.AF: "ecg.af",
    Label.NOISE: "device.signal_quality",
}


@dataclass(slots=True)
class _Stream:
    analyzer: EcgAnalyzer
    t0: datetime
    fs: float
    next_ts: datetime
    raised: set[tuple[Label, int]] = field(default_factory=set)

    def time(self, sample: int) -> datetime:
        return self.t0 + timedelta(seconds=sample / self.fs)


class EcgDetector:
    """Per-patient ECG rhythm detector."""

    name: ClassVar[str] = "ecg"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.ECG})
    warm_up: ClassVar[str] = "about 4 s of continuous ECG per device"

    def __init__(self, ctx: PatientContext, config: EcgConfig | None = None) -> None:
        self.ctx = ctx
        self.config = config or EcgConfig()
        self._streams: dict[str, _Stream] = {}
        # (device, label) of latched alerts -> end of their last event
        self._latched: dict[tuple[str, Label], datetime] = {}

    def update(self, reading: Reading) -> list[AlertCandidate]:
        chunk = reading.ecg
        if chunk is None:
            return []
        out: list[AlertCandidate] = []
        st = self._streams.get(reading.device_id)
        if st is not None and (
            chunk.fs != st.fs
            or reading.ts < st.next_ts - MAX_JOIN_GAP
            or reading.ts > st.next_ts + MAX_JOIN_GAP
        ):
            if reading.ts < st.next_ts - MAX_JOIN_GAP and chunk.fs == st.fs:
                return []  # overlapping or out-of-order chunk: already analysed
            out += self._handle(reading.device_id, st, st.analyzer.finish(), reading.ts)
            st = None
        if st is None:
            st = _Stream(EcgAnalyzer(chunk.fs, self.config), reading.ts, chunk.fs, reading.ts)
            self._streams[reading.device_id] = st
        st.next_ts = reading.end_ts
        upd = st.analyzer.feed(chunk.millivolts())
        return out + self._handle(reading.device_id, st, upd, reading.ts)

    def tick(self, now: datetime) -> list[AlertCandidate]:
        out = []
        for (device_id, label), last in list(self._latched.items()):
            if now - last >= LATCH:
                del self._latched[(device_id, label)]
                code = CODE_BY_LABEL[label]
                out.append(
                    AlertCandidate(
                        self.ctx.patient_id, code, now, Action.CLEAR, group=f"{code}:{device_id}"
                    )
                )
        return out

    def _handle(
        self, device_id: str, st: _Stream, upd: EcgUpdate, at: datetime
    ) -> list[AlertCandidate]:
        out: list[AlertCandidate] = []
        ana = st.analyzer
        ended = {(ep.label, ep.start) for ep in upd.closed}
        for ep in (*upd.opened, *ana.open_episodes()):
            key = (ep.label, ep.start)
            if key not in st.raised and key not in ended and self._due(ep, upd.until, st.fs):
                st.raised.add(key)
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.RAISE))
        for ep in upd.closed:
            key = (ep.label, ep.start)
            latched = ep.label in LATCHED
            if key not in st.raised and not self._due(ep, upd.until, st.fs):
                continue
            if key not in st.raised or latched:
                # Ended within this update, or a latched event now known in full: (re)raise
                # with the exact bounds.
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.RAISE))
            st.raised.discard(key)
            if latched:
                self._latched[(device_id, ep.label)] = st.time(ep.end or upd.until)
            else:
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.CLEAR))
        return out

    def _due(self, ep: Episode, now: int, fs: float) -> bool:
        if ep.label is Label.AF:
            return ep.duration_s(fs, now) >= self.config.af_alarm_s
        if ep.label is Label.NOISE:
            return ep.duration_s(fs, now) >= self.config.noise_alarm_s
        return True

    def _candidate(
        self, device_id: str, st: _Stream, ep: Episode, at: datetime, upto: int, action: Action
    ) -> AlertCandidate:
        """`upto` is the sample the analysis has reached: an open episode lasts at least that."""
        code = CODE_BY_LABEL[ep.label]
        start = st.time(ep.start)
        end = st.time(ep.end) if ep.end is not None else None
        hr = ep.mean_hr if ep.mean_hr is not None else st.analyzer.heart_rate
        seconds = ((end or st.time(upto)) - start).total_seconds()
        params: dict[str, Any] = {"seconds": round(seconds, 1), "device_id": device_id}
        if hr is not None:
            params["hr"] = round(hr, 1)
        if ep.label is Label.NOISE:
            params["reason"] = ep.detail or "noise"
        evidence: dict[str, Any] = {
            "episode": {
                "label": ep.label.value,
                "start": format_ts(start),
                "end": format_ts(end) if end is not None else None,
            },
            "heart_rate": round(hr, 1) if hr is not None else None,
            "strip": {
                "device_id": device_id,
                "from": format_ts(start - STRIP_MARGIN),
                "to": format_ts((end or st.time(upto)) + STRIP_MARGIN),
            },
        }
        return AlertCandidate(
            self.ctx.patient_id,
            code,
            at,
            action,
            params=params,
            evidence=evidence,
            group=f"{code}:{device_id}",
        )
