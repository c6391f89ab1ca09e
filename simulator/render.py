"""Render a scenario without a broker: messages in send order, ground truth, injected faults.

`render_jsonl(path, seed)` gives the `hmg replay` lines ({"topic", "payload"}) used to build the
labelled test suites; `truth_records` the matching ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from devices.timeparse import format_ts
from simulator.events import EVENTS, Build, Truth, combined
from simulator.faults import Disconnect, FaultRecord, apply
from simulator.patient import PatientSpec, PatientStream, Pending, merge
from simulator.profiles import profile
from simulator.scenario import Scenario, ScenarioError, load
from simulator.truth import Episode
from simulator.wire import DeviceWire, Message


@dataclass(frozen=True, slots=True)
class Rendered:
    scenario: Scenario
    messages: list[Message]
    episodes: list[Episode]
    faults: list[FaultRecord]
    controls: list[Disconnect]

    def jsonl(self) -> list[dict[str, Any]]:
        """`hmg replay` lines: the patients' care context first, then the messages."""
        context: list[dict[str, Any]] = [
            {"patient": {"patient_id": p.patient_id, "lives_alone": True}}
            for p in self.scenario.patients
            if p.lives_alone
        ]
        return context + [m.record() for m in self.messages]

    def truth_records(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "scenario": s.name,
            "start": format_ts(s.start),
            "end": format_ts(s.start + timedelta(seconds=s.duration)),
            "intended": list(s.intended),
            "tenant": s.tenant,
            # Personal device -> patient (what a registry binding would say); kiosks are shared.
            "bindings": {
                d.device_id: p.patient_id for p in s.patients for d in p.devices if not d.kiosk
            },
            "kiosks": sorted({d.device_id for p in s.patients for d in p.devices if d.kiosk}),
            "lives_alone": sorted(p.patient_id for p in s.patients if p.lives_alone),
            "episodes": [e.record() for e in self.episodes],
            "faults": [f.record() for f in self.faults],
        }


def build(s: Scenario) -> tuple[list[PatientSpec], list[Episode]]:
    specs, episodes = [], []
    for p in s.patients:
        try:
            b = Build(PatientSpec(p.patient_id, profile(p.profile), p.devices))
        except ValueError as exc:
            raise ScenarioError(str(exc), p.patient_id) from exc
        truths: list[Truth] = []
        for ev in (e for e in s.events if e.patient == p.patient_id):
            handler = EVENTS.get(ev.type)
            if handler is None:
                raise ScenarioError(f"unknown event {ev.type!r}; one of {', '.join(EVENTS)}")
            try:
                truths += handler(ev, b)
            except (ValueError, TypeError) as exc:
                raise ScenarioError(str(exc), f"{p.patient_id} {ev.type}") from exc
        if b.spec.profile.hr < 50 and any(d.kind == "ecg" for d in p.devices):
            # The profile itself is bradycardic (sick sinus): true all along, outside any event.
            truths.append(Truth("baseline_bradycardia", 0.0, s.duration, ("ecg.bradycardia",)))
        truths += combined(truths)
        specs.append(b.finish())
        for t in truths:
            a = s.start + timedelta(seconds=t.start)
            z = s.start + timedelta(seconds=t.end)
            episodes.append(Episode(p.patient_id, t.label, a, z, t.codes, t.device_id, t.detail))
    return specs, episodes


def wires(s: Scenario, specs: list[PatientSpec]) -> dict[str, DeviceWire]:
    out: dict[str, DeviceWire] = {}
    for p in specs:
        for d in p.devices:
            out.setdefault(
                d.device_id,
                DeviceWire(s.tenant, d.device_id, kiosk=d.kiosk,
                           glucose_unit="mg/dL" if d.unit == "mg/dL" else "mmol/L",
                           pressure_unit="kPa" if d.unit == "kPa" else "mmHg"),
            )  # fmt: skip
    return out


def stream(s: Scenario, seed: int) -> Iterator[Message]:
    """The clean (fault-free) messages of a scenario, lazily, in send order."""
    specs, _ = build(s)
    w = wires(s, specs)
    pending: list[Iterator[Pending]] = [
        PatientStream(p, s.start, seed, until=s.duration, tz_hours=s.tz_hours).device_stream(d)
        for p in specs
        for d in p.devices
    ]
    for item in merge(pending):
        yield item.make(w[item.device_id])


def render(s: Scenario, seed: int = 1) -> Rendered:
    _, episodes = build(s)
    msgs = list(stream(s, seed))
    msgs, records, controls = apply(msgs, s.faults, s.start, seed)
    return Rendered(s, msgs, episodes, records, controls)


def render_jsonl(path: str | Path, seed: int = 1) -> list[dict[str, Any]]:
    """The replay JSONL lines of a scenario file (no broker needed)."""
    return render(load(path), seed).jsonl()


def write_jsonl(lines: list[dict[str, Any]], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n")
