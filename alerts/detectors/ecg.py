"""ECG rhythm alerts from the streaming analyser (`alerts.ecg`), one analyser per ECG device.

Codes: `ecg.bradycardia`, `ecg.tachycardia` (sustained `rate_sustain_s`), `ecg.pause`,
`ecg.asystole`, `ecg.af` (only once an AF episode has lasted `af_alarm_s`, 30 s by default: the
ESC diagnostic minimum) and the technical `device.signal_quality` when a noise episode lasts
`noise_alarm_s`. Rhythm alarms are suppressed on noisy stretches by the analyser itself. Each
alert carries the episode bounds as times, the heart rate, and an ECG strip reference covering
10 s before and after the episode, for the clinician to review.

Ventricular arrhythmias (`alerts.ecg.ventricular`): a run of three or more ventricular beats
above 100 /min is `ecg.vt` (high) once it has lasted `vt_sustained_s` (30 s, sustained VT) or
`vt_fast_s` at `vt_fast_bpm` or more (a haemodynamically relevant rate, see `EcgConfig`), and
`ecg.nsvt` (medium) when it ends before. Both are latched like a pause. Beats in a stretch the
quality checks do not vouch for are never ventricular, so noise cannot raise them. During a
ventricular run the rate alarm is not raised: `ecg.tachycardia` waits until the beats of its
first `rate_sustain_s` are classified (up to `alerts.ecg.ventricular.GROUP` beats more) and
stays silent if a VT run falls in it; a tachycardia alert already open when VT starts is
cleared (the VT alert takes over). `ecg.pvc_burden` (low, per patient) suggests a review when
ventricular beats make up `pvc_burden_pct` of the classified beats of the last 24 h
(`alerts.ecg.burden`), and clears below 80 % of that limit.

Pauses, asystole and ventricular runs are events rather than lasting conditions: their alert is
latched (in the manner of IEC 60601-1-8 latching alarms). When the rhythm resumes the alert is
updated with the event's exact length and end, stays open for acknowledgement and escalation,
takes in further events on the same device, and resolves by itself only after `LATCH` without
another one.

A chunk that does not continue the previous one of the same device (the gateway's one continuity
rule, `devices.continuity`: a time gap or overlap, or a new sampling rate) starts a new analyser;
an out-of-order chunk is not analysed. Warm-up: about 4 s of ECG (one processing block, `block_s`)
before the first beat decision; later decisions can also lag by up to one block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from alerts.detectors.base import PatientContext
from alerts.ecg import EcgAnalyzer, EcgConfig, EcgUpdate, Episode, Label
from alerts.ecg.burden import PvcBurden
from alerts.model import Action, AlertCandidate
from devices.continuity import Verdict, verdict
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

STRIP_MARGIN = timedelta(seconds=10)

LATCHED = frozenset({Label.PAUSE, Label.ASYSTOLE, Label.VT})
LATCH = timedelta(hours=1)

CODE_BY_LABEL = {
    Label.BRADYCARDIA: "ecg.bradycardia",
    Label.TACHYCARDIA: "ecg.tachycardia",
    Label.PAUSE: "ecg.pause",
    Label.ASYSTOLE: "ecg.asystole",
    Label.AF: "ecg.af",
    Label.NOISE: "device.signal_quality",
    Label.VT: "ecg.vt",
}
NSVT = "ecg.nsvt"
BURDEN = "ecg.pvc_burden"
_BURDEN_CLEAR = 0.8  # the burden alert clears below this share of the limit


@dataclass(slots=True)
class _Stream:
    analyzer: EcgAnalyzer
    t0: datetime
    fs: float
    raised: set[tuple[Label, int]] = field(default_factory=set)
    muted: set[tuple[Label, int]] = field(default_factory=set)  # rate episodes inside VT
    classified: int = -1  # the last beat whose class is known
    vt_spans: list[tuple[int, int | None]] = field(default_factory=list)  # recent VT runs

    def time(self, sample: int) -> datetime:
        return self.t0 + timedelta(seconds=sample / self.fs)


_DEFAULT_CONFIG = EcgConfig()


class EcgDetector:
    """Per-patient ECG rhythm detector."""

    name: ClassVar[str] = "ecg"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.ECG})
    warm_up: ClassVar[str] = "about 4 s of continuous ECG per device"

    def __init__(self, ctx: PatientContext, config: EcgConfig | None = None) -> None:
        self.ctx = ctx
        self.config = config or _DEFAULT_CONFIG  # frozen: one default serves every patient
        self._streams: dict[str, _Stream] = {}
        # (device, code) of latched alerts -> end of their last event
        self._latched: dict[tuple[str, str], datetime] = {}
        self._burden = PvcBurden()
        self._burden_raised = False

    def update(self, reading: Reading) -> list[AlertCandidate]:
        chunk = reading.ecg
        if chunk is None:
            return []
        out: list[AlertCandidate] = []
        how = verdict(reading)
        if how is Verdict.SKIP:
            return []  # out of order or redelivered: not part of the stream
        st = self._streams.get(reading.device_id)
        if st is not None and (how is Verdict.BREAKS or chunk.fs != st.fs):
            out += self._handle(reading.device_id, st, st.analyzer.finish(), reading.ts)
            st = None
        if st is None:
            st = _Stream(EcgAnalyzer(chunk.fs, self.config), reading.ts, chunk.fs)
            self._streams[reading.device_id] = st
        upd = st.analyzer.feed(chunk.millivolts())
        return out + self._handle(reading.device_id, st, upd, reading.ts)

    def tick(self, now: datetime) -> list[AlertCandidate]:
        out = []
        for (device_id, code), last in list(self._latched.items()):
            if now - last >= LATCH:
                del self._latched[(device_id, code)]
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
        if upd.classified:
            st.classified = upd.classified[-1]
            out += self._pvc_burden(device_id, st, upd, at)
        out += self._vt_spans(device_id, st, upd, at)
        ended = {(ep.label, ep.start) for ep in upd.closed}
        for ep in (*upd.opened, *ana.open_episodes()):
            key = (ep.label, ep.start)
            if key not in st.raised and key not in ended and self._due(ep, upd.until, st):
                st.raised.add(key)
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.RAISE))
        for ep in upd.closed:
            key = (ep.label, ep.start)
            latched = ep.label in LATCHED
            if key in st.muted:
                st.muted.discard(key)
                continue
            if ep.label is Label.VT and key not in st.raised and not self._due(ep, ep.end, st):
                # Ended before it was sustained or fast enough: non-sustained VT.
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.RAISE, NSVT))
                self._latched[(device_id, NSVT)] = st.time(ep.end or upd.until)
                continue
            if key not in st.raised and not self._due(ep, upd.until, st):
                continue
            if key not in st.raised or latched:
                # Ended within this update, or a latched event now known in full: (re)raise
                # with the exact bounds.
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.RAISE))
            st.raised.discard(key)
            if latched:
                self._latched[(device_id, CODE_BY_LABEL[ep.label])] = st.time(ep.end or upd.until)
            else:
                out.append(self._candidate(device_id, st, ep, at, upd.until, Action.CLEAR))
        return out

    def _due(self, ep: Episode, now: int | None, st: _Stream) -> bool:
        cfg, fs = self.config, st.fs
        if ep.label is Label.AF:
            return ep.duration_s(fs, now) >= cfg.af_alarm_s
        if ep.label is Label.NOISE:
            return ep.duration_s(fs, now) >= cfg.noise_alarm_s
        if ep.label is Label.VT:
            if ep.end is None:  # in progress: up to its last beat so far
                seconds, hr = (st.analyzer.vt.last - ep.start) / fs, st.analyzer.vt.rate
            else:
                seconds, hr = ep.duration_s(fs), ep.mean_hr
            fast = hr is not None and hr >= cfg.vt_fast_bpm and seconds >= cfg.vt_fast_s
            return seconds >= cfg.vt_sustained_s or fast
        if ep.label is Label.TACHYCARDIA and cfg.classify_beats:
            # Wait for the classes of its first `rate_sustain_s`; never during a VT run.
            if st.classified < ep.start + cfg.rate_sustain_s * fs:
                return False
            return not any(
                s <= st.classified and (e is None or e >= ep.start) for s, e in st.vt_spans
            )
        return True

    def _vt_spans(
        self, device_id: str, st: _Stream, upd: EcgUpdate, at: datetime
    ) -> list[AlertCandidate]:
        """Keep the recent VT runs of the stream; a VT run mutes the rate alarm."""
        new = [ep for ep in (*upd.opened, *upd.closed) if ep.label is Label.VT]
        if not new:
            return []
        for ep in new:
            spans = [sp for sp in st.vt_spans if sp[0] != ep.start]
            spans.append((ep.start, ep.end))
            st.vt_spans = spans[-8:]
        out: list[AlertCandidate] = []
        for key in [k for k in st.raised if k[0] is Label.TACHYCARDIA]:
            st.raised.discard(key)
            st.muted.add(key)
            code = CODE_BY_LABEL[Label.TACHYCARDIA]
            out.append(
                AlertCandidate(
                    self.ctx.patient_id, code, at, Action.CLEAR, group=f"{code}:{device_id}"
                )
            )
        return out

    def _pvc_burden(
        self, device_id: str, st: _Stream, upd: EcgUpdate, at: datetime
    ) -> list[AlertCandidate]:
        cfg = self.config
        last = st.time(upd.classified[-1])
        self._burden.add(last, upd.labels)
        beats, share = self._burden.share(last)
        limit = cfg.pvc_burden_pct / 100.0
        if not self._burden_raised and beats >= cfg.pvc_burden_min_beats and share >= limit:
            self._burden_raised = True
            hours = min(self._burden.hours, self._burden.covered_hours)
            params = {"percent": round(100 * share, 1), "beats": beats, "hours": hours}
            evidence = {
                "pvc_burden": {"share_pct": round(100 * share, 1), "beats": beats, "hours": hours},
                "strip": {
                    "device_id": device_id,
                    "from": format_ts(last - 2 * STRIP_MARGIN),
                    "to": format_ts(last),
                },
            }
            return [
                AlertCandidate(
                    self.ctx.patient_id, BURDEN, at, Action.RAISE, params=params,
                    evidence=evidence, group=BURDEN,
                )
            ]  # fmt: skip
        if self._burden_raised and share < _BURDEN_CLEAR * limit:
            self._burden_raised = False
            return [AlertCandidate(self.ctx.patient_id, BURDEN, at, Action.CLEAR, group=BURDEN)]
        return []

    def _candidate(
        self,
        device_id: str,
        st: _Stream,
        ep: Episode,
        at: datetime,
        upto: int,
        action: Action,
        code: str | None = None,
    ) -> AlertCandidate:
        """`upto` is the sample the analysis has reached: an open episode lasts at least that
        (a VT run in progress: up to its last ventricular beat)."""
        code = code or CODE_BY_LABEL[ep.label]
        if ep.label is Label.VT and ep.end is None:
            upto = st.analyzer.vt.last
        start = st.time(ep.start)
        end = st.time(ep.end) if ep.end is not None else None
        hr = ep.mean_hr if ep.mean_hr is not None else st.analyzer.heart_rate
        if ep.label is Label.VT and ep.end is None:
            hr = st.analyzer.vt.rate
        seconds = ((end or st.time(upto)) - start).total_seconds()
        params: dict[str, Any] = {"seconds": round(seconds, 1), "device_id": device_id}
        if hr is not None:
            params["hr"] = round(hr, 1)
        if ep.label is Label.NOISE:
            params["reason"] = ep.detail or "noise"
        if ep.label is Label.VT and hr is not None:
            params["beats"] = round(seconds * hr / 60.0) + 1
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
