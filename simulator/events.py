"""Scenario event types: how each changes a patient's physiology or devices, and the ground truth
(alert codes) it should produce. One handler per type, registered in `EVENTS`.

Truth thresholds mirror the guideline limits the gateway uses by default (see DESIGN.md): crisis
> 180/120 mmHg, hypotension < 90 mmHg, glucose < 3.0 / < 3.9 / > 13.9 mmol/L, bradycardia < 50
and tachycardia > 120 /min on the ECG, pause > 3 s, asystole >= 4 s, battery low < 20 %, stale
after the kind's expected interval (`devices.kinds.EXPECTED_INTERVAL_S`). Events are placed with
margins around these limits so that noise cannot flip the intended outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from devices.kinds import EXPECTED_INTERVAL_S, Kind
from simulator.artefacts import Artefact, NoiseEpisode
from simulator.bp import BpEvent
from simulator.glucose import Exercise, GlucoseEvent
from simulator.patient import Alarm, DeviceSpec, PatientSpec
from simulator.rhythm import Pause, Rhythm, Segment
from simulator.scenario import EventDef, ScenarioError

BATTERY_LOW = 0.2
NOISE_ALARM_S = 30.0


@dataclass(frozen=True, slots=True)
class Truth:
    """An episode on the stream clock; `tags` feed the multi-signal (cv.*) rules."""

    label: str
    start: float
    end: float
    codes: tuple[str, ...] = ()
    device_id: str | None = None
    tags: frozenset[str] = frozenset()
    detail: str = ""


@dataclass(slots=True)
class Build:
    """A patient spec under construction."""

    spec: PatientSpec
    bp: list[BpEvent] = field(default_factory=list)
    glucose: list[GlucoseEvent] = field(default_factory=list)
    exercise: list[Exercise] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    noise: list[NoiseEpisode] = field(default_factory=list)
    compressions: list[tuple[float, float]] = field(default_factory=list)
    warmups: list[tuple[float, float]] = field(default_factory=list)
    hr: list[tuple[float, float, float]] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    devices: dict[str, list[DeviceSpec]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d in self.spec.devices:
            self.devices.setdefault(d.device_id, []).append(d)

    def device(self, ev: EventDef) -> str:
        dev = str(ev.params.get("device", ""))
        if dev not in self.devices:
            raise ScenarioError(f"event needs a device of patient {ev.patient}", ev.type)
        return dev

    def finish(self) -> PatientSpec:
        return replace(
            self.spec,
            devices=tuple(d for ds in self.devices.values() for d in ds),
            bp_events=tuple(self.bp),
            glucose_events=tuple(self.glucose),
            exercise=tuple(self.exercise),
            segments=tuple(sorted(self.segments, key=lambda s: s.start)),
            pauses=tuple(sorted(self.pauses, key=lambda p: p.at)),
            noise=tuple(self.noise),
            compressions=tuple(self.compressions),
            warmups=tuple(self.warmups),
            hr_events=tuple(self.hr),
            alarms=tuple(self.alarms),
        )


def _p(ev: EventDef, key: str, default: float) -> float:
    value: Any = ev.params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{key} must be a number", ev.type)
    return float(value)


def _codes(ev: EventDef, default: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(ev.params.get("codes", default))


def _end(ev: EventDef, default: float) -> float:
    return ev.at + (ev.duration or default)


def _crisis(ev: EventDef, b: Build) -> list[Truth]:
    sys_, dia = _p(ev, "systolic", 192), _p(ev, "diastolic", 124)
    b.bp.append(BpEvent(ev.at, _end(ev, 1800), sys_, dia, ev.params.get("pulse")))
    codes = ("bp.hypertensive_crisis",) if sys_ > 185 or dia > 125 else ()
    tags = frozenset({"crisis"}) if codes else frozenset()
    return [Truth("hypertensive_crisis", ev.at, _end(ev, 1800), _codes(ev, codes), tags=tags)]


def _hypotension(ev: EventDef, b: Build) -> list[Truth]:
    sys_, dia = _p(ev, "systolic", 82), _p(ev, "diastolic", 50)
    b.bp.append(BpEvent(ev.at, _end(ev, 1800), sys_, dia, ev.params.get("pulse")))
    codes = ("bp.hypotension",) if sys_ < 85 else ()
    return [Truth("hypotension", ev.at, _end(ev, 1800), _codes(ev, codes))]


def _bp_level(ev: EventDef, b: Build) -> list[Truth]:
    sys_, dia = _p(ev, "systolic", 156), _p(ev, "diastolic", 96)
    b.bp.append(BpEvent(ev.at, _end(ev, 7 * 86400), sys_, dia, ev.params.get("pulse")))
    codes = ("bp.uncontrolled",) if sys_ > 148 or dia > 95 else ()
    return [Truth("bp_above_target", ev.at, _end(ev, 7 * 86400), _codes(ev, codes))]


def _glucose(ev: EventDef, b: Build) -> list[Truth]:
    target = _p(ev, "target", 2.8)
    ramp, hold, recover = _p(ev, "ramp", 30), _p(ev, "hold", 30), _p(ev, "recover", 60)
    b.glucose.append(GlucoseEvent(ev.at, target, ramp, hold, recover))
    codes: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    if target <= 2.8:
        codes, tags = ("glucose.urgent_low",), frozenset({"hypo"})
    elif 3.0 < target < 3.6:
        codes, tags = ("glucose.low",), frozenset({"hypo"})
    elif target > 15.0:
        codes = ("glucose.high",)
    a = ev.at + ramp * 60
    return [Truth(f"glucose_{target:g}", a, a + hold * 60, _codes(ev, codes), tags=tags)]


def _rate(ev: EventDef, b: Build, rhythm: Rhythm) -> list[Truth]:
    hr = _p(ev, "hr", 110 if rhythm is Rhythm.AF else 40)
    end = _end(ev, 600)
    b.segments.append(Segment(ev.at, end, rhythm, hr, _p(ev, "pvc_per_min", 0)))
    codes: list[str] = ["ecg.af"] if rhythm is Rhythm.AF else []
    if hr < 45:
        codes.append("ecg.bradycardia")
    if hr > 130:
        codes.append("ecg.tachycardia")
    tags = {"af"} if rhythm is Rhythm.AF else set()
    if hr > 108:
        tags.add("tachy")
    label = "af" if rhythm is Rhythm.AF else f"sinus_{hr:g}"
    return [Truth(label, ev.at, end, _codes(ev, tuple(codes)), tags=frozenset(tags))]


def _pause(ev: EventDef, b: Build) -> list[Truth]:
    secs = _p(ev, "seconds", 3.6)
    b.pauses.append(Pause(ev.at, secs))
    codes = ("ecg.pause",) if secs >= 3.3 else ()
    return [Truth("pause", ev.at, ev.at + secs + 2.0, _codes(ev, codes), detail=f"{secs:g} s")]


def _asystole(ev: EventDef, b: Build) -> list[Truth]:
    end = _end(ev, 8)
    b.segments.append(Segment(ev.at, end, Rhythm.ASYSTOLE))
    codes = ("ecg.asystole",) if end - ev.at >= 5.0 else ()
    return [Truth("asystole", ev.at, end, _codes(ev, codes))]


def _pvc(ev: EventDef, b: Build) -> list[Truth]:
    """Ventricular ectopy: `per_min` random PVCs, or `pattern` bigeminy/trigeminy; `foci` 2 for
    multifocal. Isolated beats raise nothing (a day's burden is `ecg.pvc_burden`, beyond a
    scenario's length)."""
    hr = _p(ev, "hr", b.spec.profile.hr)
    pattern = str(ev.params.get("pattern", "random"))
    foci = int(_p(ev, "foci", 1))
    try:
        seg = Segment(ev.at, _end(ev, 600), Rhythm.SINUS, hr, _p(ev, "per_min", 6), pattern, foci)
    except ValueError as exc:
        raise ScenarioError(str(exc), ev.type) from exc
    b.segments.append(seg)
    detail = f"{pattern}, {foci} focus" if foci == 1 else f"{pattern}, {foci} foci"
    return [Truth("ectopy", ev.at, _end(ev, 600), _codes(ev, ()), detail=detail)]


def _vt(ev: EventDef, b: Build, default_s: float) -> list[Truth]:
    """Monomorphic ventricular tachycardia at `hr` (default 150 /min) for the event's `for`,
    or for `beats` beats (a non-sustained run). Ground truth: `ecg.vt` when it lasts 30 s or
    more, or 12 s or more at 150 /min or faster (the detector's limits with a margin), else
    `ecg.nsvt`."""
    hr = _p(ev, "hr", 150)
    beats = ev.params.get("beats")
    end = ev.at + (float(beats) - 0.5) * 60.0 / hr if beats else _end(ev, default_s)
    b.segments.append(Segment(ev.at, end, Rhythm.VT, hr))
    secs = end - ev.at
    sustained = secs >= 32.0 or (hr >= 152.0 and secs >= 12.0)
    codes = ("ecg.vt",) if sustained else ("ecg.nsvt",)
    return [Truth("vt" if sustained else "nsvt", ev.at, end, _codes(ev, codes))]


def _ecg_noise(ev: EventDef, b: Build) -> list[Truth]:
    kind = Artefact(str(ev.params.get("artefact", "emg")))
    end = _end(ev, 60)
    b.noise.append(NoiseEpisode(ev.at, end, kind, _p(ev, "level", 1.0)))
    long = end - ev.at >= NOISE_ALARM_S * 1.5
    codes = ("device.signal_quality",) if long else ()
    return [Truth(f"ecg_{kind.value}", ev.at, end, _codes(ev, codes))]


def _heart_rate(ev: EventDef, b: Build) -> list[Truth]:
    hr = _p(ev, "hr", 112)
    b.hr.append((ev.at, _end(ev, 1800), hr))
    tags = frozenset({"tachy"}) if hr > 108 else frozenset()
    return [Truth(f"heart_rate_{hr:g}", ev.at, _end(ev, 1800), _codes(ev, ()), tags=tags)]


def _exercise(ev: EventDef, b: Build) -> list[Truth]:
    minutes = (ev.duration or 1800) / 60
    b.exercise.append(Exercise(ev.at, minutes, _p(ev, "intensity", 1.0)))
    return []


def _compression(ev: EventDef, b: Build) -> list[Truth]:
    b.compressions.append((ev.at, _end(ev, 2400)))
    return [Truth("cgm_compression_artefact", ev.at, _end(ev, 2400), _codes(ev, ()))]


def _warmup(ev: EventDef, b: Build) -> list[Truth]:
    b.warmups.append((ev.at, _end(ev, 7200)))
    return [Truth("cgm_warmup_gap", ev.at, _end(ev, 7200), _codes(ev, ()))]


def _battery(ev: EventDef, b: Build) -> list[Truth]:
    dev = b.device(ev)
    level, drain = _p(ev, "level", 0.3), _p(ev, "drain_per_h", 0.2)
    specs = b.devices[dev]
    b.devices[dev] = [
        replace(d, battery=level, drain_per_h=drain) if d.kind == "status" else d for d in specs
    ]
    if not any(d.kind == "status" for d in specs):
        raise ScenarioError(f"battery event needs a status device {dev}", ev.type)
    cross = ev.at + max(0.0, (level - BATTERY_LOW + 0.02) / drain * 3600) if drain > 0 else None
    if cross is None and level >= BATTERY_LOW:
        return []
    at = cross if cross is not None else ev.at
    return [Truth("battery_low", at, at + 3600, _codes(ev, ("device.battery_low",)), dev)]


def _silence(ev: EventDef, b: Build) -> list[Truth]:
    dev = b.device(ev)
    end = _end(ev, 3600)
    b.devices[dev] = [replace(d, gaps=(*d.gaps, (ev.at, end))) for d in b.devices[dev]]
    kind = Kind(b.devices[dev][0].wire_kind)
    stale = end - ev.at > 1.5 * EXPECTED_INTERVAL_S[kind]
    codes = ("device.stale",) if stale else ()
    return [Truth("device_silent", ev.at, end, _codes(ev, codes), dev)]


def _text(ev: EventDef, key: str) -> str | None:
    value = ev.params.get(key)
    if value is not None and not isinstance(value, str):
        raise ScenarioError(f"{key} must be a string", ev.type)
    return value


def _alarm(ev: EventDef, b: Build, etype: str, code: str) -> list[Truth]:
    """An SOS press or a detected fall; `cancel_after` seconds later the wearer says "I'm fine"
    (within the fall cancel window of 2 min the fall is resolved as cancelled: no alert stays)."""
    dev = b.device(ev)
    conf = ev.params.get("confidence")
    b.alarms.append(
        Alarm(
            ev.at,
            dev,
            etype,
            None if conf is None else _p(ev, "confidence", 0.9),
            _text(ev, "room"),
            _text(ev, "component"),
        )
    )
    cancel = ev.params.get("cancel_after")
    if cancel is not None:
        after = _p(ev, "cancel_after", 30)
        b.alarms.append(Alarm(ev.at + after, dev, "cancel"))
        if etype == "fall" and after <= 120:
            return [Truth("fall_cancelled", ev.at, ev.at + after, _codes(ev, ()), dev)]
    return [Truth(etype, ev.at, _end(ev, 60), _codes(ev, (code,)), dev)]


def _help_arrived(ev: EventDef, b: Build) -> list[Truth]:
    b.alarms.append(Alarm(ev.at, b.device(ev), "help_arrived", component=_text(ev, "component")))
    return []


def _silent_home(ev: EventDef, b: Build) -> list[Truth]:
    """Every device of the patient goes quiet: the elder can no longer measure or move."""
    end = _end(ev, 48 * 3600)
    for dev, specs in b.devices.items():
        b.devices[dev] = [replace(d, gaps=(*d.gaps, (ev.at, end))) for d in specs]
    return [Truth("silent_home", ev.at, end, _codes(ev, ("emergency.inactivity",)))]


EVENTS: dict[str, Callable[[EventDef, Build], list[Truth]]] = {
    "sos": lambda ev, b: _alarm(ev, b, "sos", "emergency.sos"),
    "fall": lambda ev, b: _alarm(ev, b, "fall", "emergency.fall"),
    "help_arrived": _help_arrived,
    "silent_home": _silent_home,
    "hypertensive_crisis": _crisis,
    "hypotension": _hypotension,
    "bp_level": _bp_level,
    "glucose": _glucose,
    "af": lambda ev, b: _rate(ev, b, Rhythm.AF),
    "sinus_rate": lambda ev, b: _rate(ev, b, Rhythm.SINUS),
    "pause": _pause,
    "asystole": _asystole,
    "ectopy": _pvc,
    "vt": lambda ev, b: _vt(ev, b, 60.0),
    "nsvt": lambda ev, b: _vt(ev, b, 5.0),
    "ecg_noise": _ecg_noise,
    "lead_off": lambda ev, b: _ecg_noise(
        replace(ev, params={**ev.params, "artefact": "lead_off"}), b
    ),
    "heart_rate": _heart_rate,
    "exercise": _exercise,
    "cgm_compression": _compression,
    "cgm_warmup": _warmup,
    "battery": _battery,
    "silence": _silence,
}


def combined(truths: list[Truth], window: float = 1800.0) -> list[Truth]:
    """Multi-signal cv.* episodes: two tagged conditions overlapping within `window` seconds."""
    rules = (
        ("crisis", ("af", "tachy"), "cv.crisis_with_arrhythmia"),
        ("hypo", ("tachy",), "cv.hypoglycaemia_with_tachycardia"),
    )
    out = []
    for first, seconds_tags, code in rules:
        for a in (t for t in truths if first in t.tags):
            for c in (t for t in truths if t.tags & set(seconds_tags)):
                if a.start <= c.end + window and c.start <= a.end + window:
                    start, end = max(a.start, c.start), min(a.end, c.end)
                    out.append(Truth(code.split(".", 1)[1], start, max(start, end), (code,)))
                    break
    return out
