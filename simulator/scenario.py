"""Scenario files (TOML): named patients, their devices, and events placed on a timeline.

```toml
name = "crisis with AF"
start = "2026-11-22T08:00:00Z"    # stream origin (UTC); the timeline counts from here
duration = "01:00"                # HH:MM[:SS] or seconds
intended = ["bp.hypertensive_crisis", "ecg.af", "cv.crisis_with_arrhythmia"]

[[patients]]
id = "p-003"
profile = "hypertensive"          # see simulator.profiles.PROFILES
devices = [
  {id = "cuff-0003", kind = "bp", every = "00:05"},
  {id = "patch-0003", kind = "ecg", fs = 250},
]

[[events]]                        # "p-003: hypertensive crisis at 00:10, AF from 00:20 for 5 min"
patient = "p-003"
type = "hypertensive_crisis"
at = "00:10"
for = "00:15"
systolic = 192
diastolic = 124

[[faults]]                        # see simulator.faults.FAULTS
type = "duplicate"
device = "cuff-0003"
probability = 0.2
```

Times on the timeline are offsets from `start`: "HH:MM" (hours:minutes), "HH:MM:SS", or a number
of seconds. Device options: `every`, `offset`, `jitter`, `unit` (`mg/dL`, `kPa`), `kiosk`, `fs`,
`battery`, `drain_per_h`. Event types are in `simulator.events.EVENTS`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devices.timeparse import parse_ts
from simulator.patient import DeviceSpec


class ScenarioError(ValueError):
    """A scenario file that cannot be used; `where` names the offending part."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


def seconds(value: object, where: str = "") -> float:
    """A timeline offset or a duration: "HH:MM", "HH:MM:SS" or a number of seconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"not a time: {value!r}", where)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        parts = value.strip().split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError as exc:
            raise ScenarioError(f"not a time: {value!r}", where) from exc
        if len(nums) == 2:
            return nums[0] * 3600 + nums[1] * 60
        if len(nums) == 3:
            return nums[0] * 3600 + nums[1] * 60 + nums[2]
        if len(nums) == 1:
            return nums[0]
    raise ScenarioError(f"not a time: {value!r}", where)


@dataclass(frozen=True, slots=True)
class PatientDef:
    """`lives_alone` is the care context of the patient record (wellness checks, escalation)."""

    patient_id: str
    profile: str
    devices: tuple[DeviceSpec, ...]
    lives_alone: bool = False


@dataclass(frozen=True, slots=True)
class EventDef:
    patient: str
    type: str
    at: float
    duration: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaultDef:
    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    start: datetime
    duration: float
    tenant: str
    patients: tuple[PatientDef, ...]
    events: tuple[EventDef, ...]
    faults: tuple[FaultDef, ...]
    intended: tuple[str, ...] = ()
    description: str = ""
    tz_hours: float = 8.0


_DEVICE_KEYS = {"id", "kind", "every", "offset", "jitter", "unit", "kiosk", "fs", "battery",
                "drain_per_h", "gaps"}  # fmt: skip


def _device(raw: dict[str, Any], where: str) -> DeviceSpec:
    unknown = set(raw) - _DEVICE_KEYS
    if unknown:
        raise ScenarioError(f"unknown device option(s) {sorted(unknown)}", where)
    try:
        return DeviceSpec(
            device_id=str(raw["id"]),
            kind=str(raw["kind"]),
            interval=seconds(raw.get("every", 300), where),
            offset=seconds(raw.get("offset", 0), where),
            jitter=float(raw.get("jitter", 0.0)),
            unit=str(raw.get("unit", "")),
            kiosk=bool(raw.get("kiosk", False)),
            fs=float(raw.get("fs", 250.0)),
            battery=float(raw.get("battery", 1.0)),
            drain_per_h=float(raw.get("drain_per_h", 0.0)),
            gaps=tuple(
                (seconds(a, where), seconds(a, where) + seconds(d, where))
                for a, d in raw.get("gaps", [])
            ),
        )
    except KeyError as exc:
        raise ScenarioError(f"device needs {exc.args[0]!r}", where) from exc
    except ValueError as exc:
        raise ScenarioError(str(exc), where) from exc


def parse(doc: dict[str, Any], name: str = "scenario") -> Scenario:
    """Validate a parsed TOML document into a `Scenario` (raises `ScenarioError`)."""
    try:
        start = parse_ts(doc.get("start", "2026-11-22T00:00:00Z"))
    except ValueError as exc:
        raise ScenarioError(f"bad start: {exc}", "start") from exc
    patients = []
    for i, raw in enumerate(doc.get("patients", [])):
        where = f"patients[{i}]"
        if "id" not in raw:
            raise ScenarioError("patient needs an id", where)
        devices = tuple(_device(d, f"{where}.devices[{j}]") for j, d in enumerate(raw.get(
            "devices", [])))  # fmt: skip
        alone = raw.get("lives_alone", False)
        if not isinstance(alone, bool):
            raise ScenarioError("lives_alone must be true or false", where)
        patients.append(
            PatientDef(str(raw["id"]), str(raw.get("profile", "healthy")), devices, alone)
        )
    ids = {p.patient_id for p in patients}
    events = []
    for i, raw in enumerate(doc.get("events", [])):
        where = f"events[{i}]"
        params = {k: v for k, v in raw.items() if k not in ("patient", "type", "at", "for")}
        if raw.get("patient") not in ids:
            raise ScenarioError(f"unknown patient {raw.get('patient')!r}", where)
        if "type" not in raw or "at" not in raw:
            raise ScenarioError("event needs a type and a time (at)", where)
        events.append(
            EventDef(
                str(raw["patient"]),
                str(raw["type"]),
                seconds(raw["at"], where),
                seconds(raw.get("for", 0), where),
                params,
            )
        )
    faults = tuple(
        FaultDef(str(f["type"]), {k: v for k, v in f.items() if k != "type"})
        for f in doc.get("faults", [])
    )
    return Scenario(
        name=str(doc.get("name", name)),
        start=start,
        duration=seconds(doc.get("duration", 3600), "duration"),
        tenant=str(doc.get("tenant", "sim")),
        patients=tuple(patients),
        events=tuple(events),
        faults=faults,
        intended=tuple(str(c) for c in doc.get("intended", [])),
        description=str(doc.get("description", "")),
        tz_hours=float(doc.get("tz_hours", 8.0)),
    )


def load(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not TOML: {exc}", str(p)) from exc
    return parse(doc, p.stem)


LIBRARY = Path(__file__).resolve().parent / "scenarios"


def library() -> list[Path]:
    """The shipped scenario files."""
    return sorted(LIBRARY.glob("*.toml"))
