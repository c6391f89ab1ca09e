"""One simulated patient: a profile, devices with schedules, and scenario events, as a lazy,
time-ordered stream of pending messages.

Sequence numbers are assigned when a message is emitted (`Pending.make(wire)`), not when it is
generated, so a kiosk shared by several patients still counts up in send order.
"""

from __future__ import annotations

import heapq
import itertools
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import numpy as np

from devices.kinds import Kind
from simulator.artefacts import Artefact, NoiseEpisode
from simulator.bp import BpEvent, measure
from simulator.ecgstream import EcgStream
from simulator.glucose import CgmSensor, Exercise, GlucoseEvent, GlucoseModel, fingerstick
from simulator.profiles import Profile
from simulator.rhythm import Pause, Rhythm, RhythmPlan, Segment
from simulator.wire import DeviceWire, Message

DEVICE_KINDS = frozenset({"bp", "cgm", "fingerstick", "ecg", "hr", "spo2", "status", "event"})


@dataclass(frozen=True, slots=True)
class Alarm:
    """An emergency event a wearer's device sends at `at` seconds (see `DeviceWire.event`)."""

    at: float
    device_id: str
    type: str
    confidence: float | None = None
    room: str | None = None
    component: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A device of one patient. `kind` is a simulator kind (`cgm` / `fingerstick` are glucose).

    Times are seconds on the stream clock. `gaps` are windows in which the device sends nothing
    (dropout, or a device gone stale); `unit` picks the display unit (`mg/dL`, `kPa`).
    """

    device_id: str
    kind: str
    interval: float = 60.0
    offset: float = 0.0
    jitter: float = 0.0
    unit: str = ""
    kiosk: bool = False
    fs: float = 250.0
    battery: float = 1.0
    drain_per_h: float = 0.0
    gaps: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in DEVICE_KINDS:
            raise ValueError(f"unknown device kind {self.kind!r}")
        if self.interval <= 0:
            raise ValueError("device interval must be positive")

    @property
    def wire_kind(self) -> str:
        return "glucose" if self.kind in ("cgm", "fingerstick") else self.kind

    def silent(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.gaps)


@dataclass(frozen=True, slots=True)
class PatientSpec:
    patient_id: str
    profile: Profile
    devices: tuple[DeviceSpec, ...] = ()
    bp_events: tuple[BpEvent, ...] = ()
    glucose_events: tuple[GlucoseEvent, ...] = ()
    exercise: tuple[Exercise, ...] = ()
    segments: tuple[Segment, ...] = ()
    pauses: tuple[Pause, ...] = ()
    noise: tuple[NoiseEpisode, ...] = ()
    compressions: tuple[tuple[float, float], ...] = ()
    warmups: tuple[tuple[float, float], ...] = ()
    hr_events: tuple[tuple[float, float, float], ...] = ()  # (start, end, bpm) without ECG change
    alarms: tuple[Alarm, ...] = ()

    def rhythm_plan(self) -> RhythmPlan:
        p = self.profile
        return RhythmPlan(p.hr, p.rhythm, self.segments, self.pauses, p.hrv, p.pvc_per_min)


@dataclass(frozen=True, slots=True)
class Pending:
    """A message to be encoded by device `device_id`'s wire when it is sent."""

    at: datetime
    device_id: str
    make: Callable[[DeviceWire], Message] = field(compare=False)


def stable_id(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclass(slots=True)
class PatientStream:
    """The pending messages of one patient from `origin` until `until` seconds (may be inf)."""

    spec: PatientSpec
    origin: datetime
    seed: int
    until: float = math.inf
    tz_hours: float = 8.0

    def _rng(self, dev: DeviceSpec, purpose: int = 0) -> np.random.Generator:
        key = [self.seed, stable_id(self.spec.patient_id), stable_id(dev.device_id), purpose]
        return np.random.Generator(np.random.PCG64(key))

    def ts(self, t: float) -> datetime:
        return self.origin + timedelta(seconds=t)

    def hour(self, t: float) -> float:
        o = self.origin
        return (o.hour + o.minute / 60 + self.tz_hours + t / 3600.0) % 24.0

    def _times(self, dev: DeviceSpec, rng: np.random.Generator) -> Iterator[float]:
        t = dev.offset
        while t < self.until:
            if not dev.silent(t):
                yield t
            t += dev.interval * (1.0 + dev.jitter * float(rng.uniform(-1.0, 1.0)))

    def heart_rate(self, t: float) -> float | None:
        for a, b, bpm in self.spec.hr_events:
            if a <= t < b:
                return bpm
        seg = self.spec.rhythm_plan().at(t)
        paused = any(p.at <= t < p.at + p.seconds for p in self.spec.pauses)
        return None if seg.rhythm is Rhythm.ASYSTOLE or paused else seg.hr

    def glucose_model(self) -> GlucoseModel:
        p = self.spec
        return GlucoseModel(
            p.profile.glucose,
            seed=self.seed + stable_id(p.patient_id),
            day0_hour=self.hour(0.0),
            events=p.glucose_events,
            exercise=p.exercise,
        )

    def _bp(self, dev: DeviceSpec) -> Iterator[Pending]:
        rng = self._rng(dev)
        for t in self._times(dev, rng):
            m = measure(
                self.spec.profile.bp,
                t,
                self.hour(t),
                rng,
                kiosk=dev.kiosk,
                events=self.spec.bp_events,
            )
            pid = self.spec.patient_id
            make = partial(DeviceWire.bp, ts=self.ts(t), systolic=m.systolic,
                           diastolic=m.diastolic, pulse=m.pulse, patient=pid)  # fmt: skip
            yield Pending(self.ts(t), dev.device_id, _call(make))

    def _cgm(self, dev: DeviceSpec) -> Iterator[Pending]:
        rng = self._rng(dev)
        sensor = CgmSensor(compressions=self.spec.compressions, warmups=self.spec.warmups)
        model = self.glucose_model()
        times = self._times(dev, rng)
        while True:
            batch = list(itertools.islice(times, 24))
            if not batch:
                return
            values = sensor.read(model, np.asarray(batch), rng)
            for t, v in zip(batch, values, strict=True):
                if math.isfinite(v):
                    make = partial(DeviceWire.glucose, ts=self.ts(t), mmol=float(v), source="cgm")
                    yield Pending(self.ts(t), dev.device_id, _call(make))

    def _fingerstick(self, dev: DeviceSpec) -> Iterator[Pending]:
        rng = self._rng(dev)
        model = self.glucose_model()
        for t in self._times(dev, rng):
            value = fingerstick(float(model.plasma(np.array([t]))[0]), rng)
            h = self.hour(t)
            context = "fasting" if 5 <= h < 9 else "bedtime" if h >= 21 else "random"
            make = partial(
                DeviceWire.glucose,
                ts=self.ts(t),
                mmol=value,
                source="fingerstick",
                context=context,
                patient=self.spec.patient_id,
            )
            yield Pending(self.ts(t), dev.device_id, _call(make))

    def _scalar(self, dev: DeviceSpec) -> Iterator[Pending]:
        rng = self._rng(dev)
        kind = Kind(dev.kind)
        for t in self._times(dev, rng):
            if kind is Kind.HR:
                hr = self.heart_rate(t)
                if hr is None:
                    continue
                value = hr + 2.0 * float(rng.standard_normal())
            else:
                value = min(100.0, self.spec.profile.spo2 + 1.2 * float(rng.standard_normal()))
            make = partial(DeviceWire.scalar, kind=kind, ts=self.ts(t), value=value,
                           patient=self.spec.patient_id)  # fmt: skip
            yield Pending(self.ts(t), dev.device_id, _call(make))

    def _status(self, dev: DeviceSpec) -> Iterator[Pending]:
        rng = self._rng(dev)
        lead_off = [n for n in self.spec.noise if n.kind is Artefact.LEAD_OFF]
        for t in self._times(dev, rng):
            battery = max(0.0, dev.battery - dev.drain_per_h * t / 3600.0)
            off = any(n.start <= t < n.end for n in lead_off)
            make = partial(DeviceWire.status, ts=self.ts(t), battery=battery, lead_off=off)
            yield Pending(self.ts(t), dev.device_id, _call(make))

    def _ecg(self, dev: DeviceSpec) -> Iterator[Pending]:
        seed = self.seed + stable_id(self.spec.patient_id)
        stream = EcgStream(dev.fs, self.spec.rhythm_plan(), seed, noise=self.spec.noise)
        for k in itertools.count():
            t = k * stream.chunk_s
            if t >= self.until:
                return
            samples = stream.chunk(k)
            if dev.silent(t):
                continue
            make = partial(DeviceWire.ecg, ts=self.ts(t), fs=dev.fs, samples=samples,
                           gain=stream.gain, baseline=stream.baseline)  # fmt: skip
            yield Pending(self.ts(t + stream.chunk_s), dev.device_id, _call(make))

    def _event(self, dev: DeviceSpec) -> Iterator[Pending]:
        """Events only when something happens: the alarms placed on this device."""
        mine = sorted(
            (a for a in self.spec.alarms if a.device_id == dev.device_id), key=lambda a: a.at
        )
        for a in mine:
            if a.at >= self.until or dev.silent(a.at):
                continue
            make = partial(DeviceWire.event, ts=self.ts(a.at), etype=a.type,
                           confidence=a.confidence, room=a.room, component=a.component)  # fmt: skip
            yield Pending(self.ts(a.at), dev.device_id, _call(make))

    def device_stream(self, dev: DeviceSpec) -> Iterator[Pending]:
        gens: dict[str, Callable[[DeviceSpec], Iterator[Pending]]] = {
            "event": self._event,
            "bp": self._bp,
            "cgm": self._cgm,
            "fingerstick": self._fingerstick,
            "hr": self._scalar,
            "spo2": self._scalar,
            "status": self._status,
            "ecg": self._ecg,
        }
        return gens[dev.kind](dev)


def _call(make: Callable[..., Message]) -> Callable[[DeviceWire], Message]:
    """Bind the keyword arguments now, the device's wire (with its seq counter) at send time."""
    return make


def merge(streams: list[Iterator[Pending]]) -> Iterator[Pending]:
    """Time-ordered merge; ties keep stream order, so the result is deterministic."""
    return heapq.merge(*streams, key=lambda p: p.at)
