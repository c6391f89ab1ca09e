"""The demo cohort: about 20 elders with cuffs, glucometers/CGMs, ECG patches, wristbands and a
shared kiosk, on a compressed schedule so that `hmg demo` shows alerts within two minutes.

Guaranteed in the first two minutes after `start` (at `time_scale` 1 or faster):
- p-001 hypertensive crisis (~192/124 mmHg on every cuff reading for ~2.5 min, so it is confirmed)
  while the ECG patch shows AF at ~128 /min (a `cv.crisis_with_arrhythmia` pair);
- p-002 hypoglycaemia on a mg/dL fingerstick meter (~49 mg/dL, i.e. < 3.0 mmol/L) with sinus
  tachycardia ~112 /min on patch and wristband (`cv.hypoglycaemia_with_tachycardia`);
- p-003 CGM (mmol/L) at ~2.6 mmol/L, and on the patch sinus bradycardia ~44 /min with pauses.
Everyone else runs their profile's physiology. `time_scale` divides every interval and event
offset (BP every ~20-60 s at scale 1); timestamps are real time: `ts = start + elapsed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.bp import BpEvent
from simulator.glucose import GlucoseEvent
from simulator.patient import Alarm, DeviceSpec, PatientSpec, PatientStream, Pending, merge
from simulator.profiles import profile
from simulator.rhythm import Pause, Rhythm, Segment
from simulator.truth import Episode
from simulator.wire import DeviceWire, Message

_CYCLE = (
    "healthy",
    "hypertensive",
    "t2d_insulin",
    "t1d_cgm",
    "paroxysmal_af",
    "sick_sinus",
    "heart_failure",
)
KIOSK_ID = "kiosk-0001"


@dataclass(frozen=True, slots=True)
class SimDevice:
    """A device to register: personal devices are bound to `patient_id`; the kiosk (shared,
    `kiosk=True`, `patient_id` empty) names the patient in each payload."""

    device_id: str
    tenant: str
    kind: str
    patient_id: str
    kiosk: bool = False


# Patients (by index) whose wearable sends an emergency call EMERGENCY_AT seconds in: (type,
# device prefix, room, triggering component).
EMERGENCIES: dict[int, tuple[str, str, str, str]] = {
    3: ("sos", "pendant", "bedroom", "pendant-button"),
    4: ("fall", "watch", "bathroom", "accelerometer"),
}
EMERGENCY_AT = 60.0


class Cohort:
    """Deterministic (per seed) demo cohort; `due(now)` hands out messages as time passes."""

    def __init__(
        self,
        n_patients: int = 20,
        *,
        seed: int = 1,
        tenant: str = "demo",
        start: datetime,
        ecg_fs: float = 250.0,
        ecg_patients: int = 3,
        time_scale: float = 1.0,
    ) -> None:
        if n_patients < 1:
            raise ValueError("a cohort needs at least one patient")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.tenant = tenant
        self.start = start
        self.seed = seed
        self.ecg_fs = ecg_fs
        self.ecg_patients = ecg_patients
        self.k = 1.0 / time_scale
        self.patients = [self._patient(i) for i in range(n_patients)]
        self._wires: dict[str, DeviceWire] = {}
        for p in self.patients:
            for d in p.devices:
                self._wires.setdefault(
                    d.device_id,
                    DeviceWire(
                        tenant,
                        d.device_id,
                        kiosk=d.kiosk,
                        glucose_unit=d.unit if d.unit == "mg/dL" else "mmol/L",
                        pressure_unit=d.unit if d.unit == "kPa" else "mmHg",
                    ),
                )
        streams: list[Iterator[Pending]] = [
            PatientStream(p, start, seed).device_stream(d) for p in self.patients for d in p.devices
        ]
        self._pending = merge(streams)
        self._next: Pending | None = next(self._pending, None)

    def _patient(self, i: int) -> PatientSpec:
        k = self.k
        num = f"{i + 1:04d}"
        pid = f"p-{i + 1:03d}"
        prof = profile(_CYCLE[i % len(_CYCLE)])
        devs: list[DeviceSpec] = []
        kw: dict[str, object] = {}
        if i == 0:
            prof = profile("hypertensive")
            devs.append(DeviceSpec(f"cuff-{num}", "bp", 30 * k, offset=10 * k, jitter=0.1))
            kw["bp_events"] = (BpEvent(0.0, 150 * k, 192.0, 124.0, 118.0),)
            kw["segments"] = (Segment(0.0, 600 * k, Rhythm.AF, hr=128.0),)
        elif i == 1:
            prof = profile("t2d_insulin")
            devs.append(DeviceSpec(f"meter-{num}", "fingerstick", 45 * k, offset=20 * k,
                                   unit="mg/dL"))  # fmt: skip
            devs.append(DeviceSpec(f"hr-{num}", "hr", 30 * k, offset=15 * k))
            kw["glucose_events"] = (GlucoseEvent(-3600 * k, 2.7, 1.0, 60 + 4 * k, 20.0 * k),)
            kw["segments"] = (Segment(0.0, 600 * k, Rhythm.SINUS, hr=112.0),)
        elif i == 2:
            prof = profile("t1d_cgm")
            devs.append(DeviceSpec(f"cgm-{num}", "cgm", 300 * k, offset=30 * k))
            kw["glucose_events"] = (GlucoseEvent(-7200 * k, 2.6, 60.0, 90 + 10 * k, 30.0),)
            kw["segments"] = (Segment(0.0, 900 * k, Rhythm.SINUS, hr=44.0),)
            kw["pauses"] = tuple(Pause(t * k, 3.6) for t in (40.0, 100.0, 200.0, 400.0))
        else:
            unit = "kPa" if i == 5 else ""
            devs.append(DeviceSpec(f"cuff-{num}", "bp", 40 * k, offset=(5 + 3 * i) * k,
                                   jitter=0.5, unit=unit))  # fmt: skip
            if prof.name == "t1d_cgm":
                devs.append(DeviceSpec(f"cgm-{num}", "cgm", 300 * k, offset=(7 * i % 300) * k))
                devs.append(DeviceSpec(f"cgm-{num}", "status", 120 * k, offset=60 * k,
                                       battery=0.3, drain_per_h=0.6 / k))  # fmt: skip
            elif prof.name == "t2d_insulin":
                mg = "mg/dL" if i % 2 else "mmol/L"
                devs.append(DeviceSpec(f"meter-{num}", "fingerstick", 90 * k, offset=(4 * i) * k,
                                       jitter=0.3, unit=mg))  # fmt: skip
            if prof.name in ("paroxysmal_af", "sick_sinus", "heart_failure"):
                devs.append(DeviceSpec(f"hr-{num}", "hr", 60 * k, offset=(2 * i) * k, jitter=0.2))
            if prof.name == "heart_failure":
                devs.append(DeviceSpec(f"spo2-{num}", "spo2", 120 * k, offset=(3 * i) * k))
            if 3 <= i < 9:
                devs.append(DeviceSpec(KIOSK_ID, "bp", 240 * k, offset=(20 * i) * k,
                                       kiosk=True))  # fmt: skip
            if i in EMERGENCIES:  # an SOS press and a hard fall, so the closed loop is seen
                etype, device, room, component = EMERGENCIES[i]
                devs.append(DeviceSpec(f"{device}-{num}", "event"))
                kw["alarms"] = (
                    Alarm(
                        EMERGENCY_AT * k, f"{device}-{num}", etype, room=room, component=component
                    ),
                )
        if i < self.ecg_patients:
            devs.append(DeviceSpec(f"patch-{num}", "ecg", fs=self.ecg_fs))
            devs.append(DeviceSpec(f"patch-{num}", "status", 60 * k, offset=5 * k,
                                   battery=0.9, drain_per_h=0.02))  # fmt: skip
        return PatientSpec(pid, prof, tuple(devs), **kw)  # type: ignore[arg-type]

    def devices(self) -> list[SimDevice]:
        out: dict[str, SimDevice] = {}
        for p in self.patients:
            for d in p.devices:
                if d.device_id in out and d.kind == "status":
                    continue
                pid = "" if d.kiosk else p.patient_id
                out[d.device_id] = SimDevice(d.device_id, self.tenant, d.wire_kind, pid, d.kiosk)
        return list(out.values())

    def due(self, now: datetime) -> list[tuple[str, bytes]]:
        """Messages whose send time is <= `now` and not yet handed out, in time order."""
        return [(m.topic, m.payload) for m in self.due_messages(now)]

    def due_messages(self, now: datetime) -> list[Message]:
        """As `due`, with each message's send time (ECG chunks are sent when complete)."""
        out: list[Message] = []
        while self._next is not None and self._next.at <= now:
            msg = self._next.make(self._wires[self._next.device_id])
            out.append(Message(self._next.at, msg.topic, msg.payload))
            self._next = next(self._pending, None)
        return out

    def truth(self) -> list[Episode]:
        """The guaranteed episodes of the demo, for checking what the gateway raised."""
        s, k = self.start, self.k

        def ep(pid: str, label: str, a: float, b: float, *codes: str) -> Episode:
            return Episode(pid, label, s + timedelta(seconds=a), s + timedelta(seconds=b), codes)

        eps = [ep("p-001", "hypertensive_crisis", 0, 150 * k, "bp.hypertensive_crisis")]
        if self.ecg_patients >= 1:
            eps.append(ep("p-001", "af", 0, 600 * k, "ecg.af", "ecg.tachycardia"))
            eps.append(ep("p-001", "crisis_with_af", 0, 150 * k, "cv.crisis_with_arrhythmia"))
        if len(self.patients) >= 2:
            eps.append(ep("p-002", "hypoglycaemia", 0, 180 * k, "glucose.urgent_low"))
            eps.append(
                ep("p-002", "hypo_with_tachy", 0, 180 * k, "cv.hypoglycaemia_with_tachycardia")
            )
        for i, (etype, *_rest) in EMERGENCIES.items():
            if len(self.patients) > i:
                at = EMERGENCY_AT * k
                eps.append(ep(f"p-{i + 1:03d}", etype, at, at + 60 * k, f"emergency.{etype}"))
        if len(self.patients) >= 3:
            eps.append(ep("p-003", "hypoglycaemia", 0, 600 * k, "glucose.urgent_low"))
            if self.ecg_patients >= 3:
                eps.append(ep("p-003", "bradycardia", 0, 900 * k, "ecg.bradycardia", "ecg.pause"))
        return eps
