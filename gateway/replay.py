"""`hmg replay`: a JSONL capture through the gateway's pipeline, offline, on its own clock.

Each line is `{"topic": ..., "payload": ...}`; the payload is the message's JSON value, or a
string holding the raw bytes for non-JSON input. The replay clock is the latest reading time seen
so far; readings older than it by more than the late-data limit are stored-as-late (no alerts).
Unknown devices are bound to the payload's `patient_id`, else to a patient named like the device.
The same `Pipeline` as the live gateway decodes and detects (no storage, no broker): its clock is
the replay clock, and its desk keeps the alerts, the escalation timers and the staleness watch.

With a policy (`hmg replay --policy FILE`), escalation timers run on the replay clock: before a
line moves the clock forward, every timer due up to the new time fires at its own due time, so
an unacknowledged alert climbs the tiers at exactly its deadlines. Extra line kinds:

- `{"ack": {"code": ..., "patient_id": ..., "at": ..., "by": ...}}` acknowledges the active
  alert of that patient and code at `at` (optional `"comment"`; optional `"tenant"`, needed
  only when several tenants of the file have an active alert for that patient id and code);
- `{"resolve": {"code": ..., "patient_id": ..., "at": ..., "by": ...}}` resolves it by hand
  (an emergency call with `"outcome"`: `handled_at_home`, `false_alarm`, `taken_to_hospital`);
- `{"dispatch": {..., "responder": "community", "name": ..., "eta_minutes": 20}}` sends help to
  an answered emergency call, `{"arrive": {...}}` confirms help on site (same keys as `ack`);
- `{"tick": "<ts>"}` advances the replay clock with no reading (lets timers fire);
- `{"patient": {"patient_id": ..., "lives_alone": true, "disability": false}}` sets the
  patient context the policy's context rules look at (with `"tenant"`, of that tenant's
  patient only; without, of the patient id in whichever tenant its readings come from);
- `{"device": {"device_id": ..., "patient_id": ..., "kiosk": false, "tenant": ..., "kind": ...}}`
  registers a device as provisioning would (a personal device bound to its patient, or a kiosk),
  so that several devices of one elder meet in that elder's detectors. `hmg replay --devices F`
  reads the same from a file holding `{"tenant": ..., "bindings": {device: patient},
  "kiosks": [device, ...]}`
  (the ground-truth file of `hmg simulate --truth-to` has that shape).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alerts.actor import Actor, Role
from alerts.desk import ActionRefusedError, AlertDesk
from alerts.emergency import Dispatch, Outcome, Responder
from alerts.model import Alert, AlertEvent
from alerts.serialize import event_to_json
from devices.errors import DecodeError
from devices.model import PatientKey
from devices.registry import Binding, Device
from devices.timeparse import parse_ts
from gateway.flow.intake import (
    REPLAY_START,
    Inbound,
    ReplayClock,
)
from gateway.flow.pipeline import Pipeline
from gateway.runtime.wiring import ReplayDesk
from gateway.runtime.wiring import replay_pipeline as make_pipeline

log = logging.getLogger(__name__)

TICK = timedelta(seconds=5)
__all__ = ["REPLAY_START", "ReplayLineError", "make_pipeline", "replay_events", "replay_lines"]


class ReplayLineError(ValueError):
    def __init__(self, lineno: int, detail: str) -> None:
        super().__init__(f"line {lineno}: {detail}")
        self.lineno = lineno


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return json.dumps(payload, separators=(",", ":")).encode()


def _clock(pipe: Pipeline) -> ReplayClock:
    clock = pipe.intake.replay_clock
    if clock is None:
        raise ValueError("a replay needs a pipeline on a replay clock (see make_pipeline)")
    return clock


def _due(pipe: Pipeline, until: datetime | None) -> Iterator[AlertEvent]:
    """Fire timers (escalation, device staleness) at their own due times up to `until`."""
    if until is None:
        return
    for _ in range(100_000):
        due = pipe.desk.next_due()
        if due is None or due > until:
            return
        yield from pipe.advance(due).events


def _advance(pipe: Pipeline, at: datetime) -> Iterator[AlertEvent]:
    yield from _due(pipe, at)
    _clock(pipe).advance(at)


# The clinicians' actions a replay file may hold, one key per line.
ACTIONS = ("ack", "resolve", "dispatch", "arrive")


def _find_active(desk: AlertDesk, lineno: int, body: Mapping[str, Any]) -> Alert | None:
    """The active alert an action line names: by tenant and patient id, or by the patient id
    when only one tenant has such an alert."""
    code, patient_id = str(body["code"]), str(body["patient_id"])
    if isinstance(tenant := body.get("tenant"), str):
        return desk.find_active(PatientKey(tenant, patient_id), code)
    found = [a for a in desk.active() if a.patient_id == patient_id and a.code == code]
    if len({a.tenant for a in found}) > 1:
        raise ReplayLineError(lineno, f"patient {patient_id!r} is in several tenants: name one")
    return found[0] if found else None


def _action_line(lineno: int, doc: dict[str, Any], key: str) -> tuple[str, str, datetime, str]:
    body = doc[key]
    if not isinstance(body, dict):
        raise ReplayLineError(lineno, f"{key!r} must be an object")
    try:
        code, patient_id, by = str(body["code"]), str(body["patient_id"]), str(body["by"])
        at = parse_ts(body["at"])
    except KeyError as exc:
        raise ReplayLineError(lineno, f"{key!r} needs {exc.args[0]!r}") from None
    except DecodeError as exc:
        raise ReplayLineError(lineno, f"{key!r}: {exc.detail}") from exc
    return code, patient_id, at, by


def _act(pipe: Pipeline, lineno: int, doc: dict[str, Any], key: str) -> Iterator[AlertEvent]:
    """An acknowledgement or a manual resolution fed from the replay file."""
    code, patient_id, at, by = _action_line(lineno, doc, key)
    yield from _advance(pipe, at)
    at = max(at, _clock(pipe)())
    desk = pipe.desk
    alert = _find_active(desk, lineno, doc[key])
    if alert is None:
        log.warning("line %d: no active %s alert for %s; %s ignored", lineno, code, patient_id, key)
        return
    actor = Actor(by, Role.CLINICIAN, alert.tenant, client="replay")
    body = doc[key]
    try:
        if key == "ack":
            done = desk.acknowledge(alert.alert_id, actor, at)
        elif key == "dispatch":
            going = Dispatch(
                Responder(str(body.get("responder", "community"))),
                str(body.get("name", "")),
                body.get("contact"),
                at + timedelta(minutes=float(body.get("eta_minutes", 30))),
            )
            done = desk.dispatch(alert.alert_id, actor, at, going)
        elif key == "arrive":
            done = desk.arrive(alert.alert_id, actor, at)
        else:
            outcome = Outcome(body["outcome"]) if "outcome" in body else None
            done = desk.resolve(alert.alert_id, actor, at, outcome)
    except ActionRefusedError as exc:
        raise ReplayLineError(lineno, f"{key!r}: {exc.detail}") from exc
    except (ValueError, TypeError) as exc:
        raise ReplayLineError(lineno, f"{key!r}: {exc}") from exc
    comment = doc[key].get("comment") if key == "ack" else None
    for event in done.events:
        yield replace(event, detail={**event.detail, "comment": str(comment)}) if comment else event


def _patient_line(pipe: Pipeline, lineno: int, body: object) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("patient_id"), str):
        raise ReplayLineError(lineno, '"patient" needs a "patient_id"')
    flags = frozenset(f for f in ("lives_alone", "disability") if body.get(f))
    patient_id, tenant = body["patient_id"], body.get("tenant")
    if isinstance(tenant, str):
        pipe.desk.set_flags(PatientKey(tenant, patient_id), flags)
    elif isinstance(pipe.desk, ReplayDesk):
        pipe.desk.any_tenant[patient_id] = flags
    for key in pipe.engine.patients():
        if key.patient_id == patient_id and (tenant is None or key.tenant == tenant):
            pipe.engine.retarget(key)


def register_device(pipe: Pipeline, body: object) -> None:
    """Register one device from a `device` line (see the module docstring)."""
    if not isinstance(body, dict) or not isinstance(body.get("device_id"), str):
        raise ValueError('"device" needs a "device_id"')
    if not isinstance(body.get("tenant"), str):
        raise ValueError(f"device {body['device_id']!r} needs its tenant")
    kiosk = bool(body.get("kiosk", False))
    patient = body.get("patient_id")
    if not kiosk and not isinstance(patient, str):
        raise ValueError(f"personal device {body['device_id']!r} needs a patient_id")
    bindings = () if kiosk else (Binding(str(patient), REPLAY_START),)
    pipe.intake.registry.put(
        Device(
            body["device_id"],
            body["tenant"],
            str(body.get("kind", "")),
            kiosk=kiosk,
            bindings=bindings,
        )
    )


def register_devices(pipe: Pipeline, doc: Mapping[str, Any]) -> int:
    """Register the devices of a `{"tenant", "bindings": {...}, "kiosks": [...]}` document."""
    tenant = doc.get("tenant")
    bindings = doc.get("bindings") or {}
    kiosks = doc.get("kiosks") or []
    if not isinstance(bindings, dict) or not isinstance(kiosks, list):
        raise ValueError('expected {"bindings": {device: patient}, "kiosks": [device, ...]}')
    for device_id, patient_id in bindings.items():
        register_device(pipe, {"device_id": device_id, "patient_id": patient_id, "tenant": tenant})
    for device_id in kiosks:
        register_device(pipe, {"device_id": device_id, "kiosk": True, "tenant": tenant})
    return len(bindings) + len(kiosks)


def replay_events(lines: Iterable[str], pipeline: Pipeline | None = None) -> Iterator[AlertEvent]:
    """Alert events in the order the replay produces them."""
    pipe = pipeline or make_pipeline()
    clock = _clock(pipe)
    last_tick = None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayLineError(lineno, f"not JSON: {exc}") from exc
        action = next((k for k in ACTIONS if isinstance(doc, dict) and k in doc), None)
        if action is not None:
            yield from _act(pipe, lineno, doc, action)
            continue
        if isinstance(doc, dict) and "tick" in doc:
            try:
                yield from _advance(pipe, parse_ts(doc["tick"]))
            except DecodeError as exc:
                raise ReplayLineError(lineno, f"tick: {exc.detail}") from exc
            continue
        if isinstance(doc, dict) and "patient" in doc:
            _patient_line(pipe, lineno, doc["patient"])
            continue
        if isinstance(doc, dict) and "device" in doc:
            try:
                register_device(pipe, doc["device"])
            except ValueError as exc:
                raise ReplayLineError(lineno, str(exc)) from exc
            continue
        if not isinstance(doc, dict) or "topic" not in doc or "payload" not in doc:
            raise ReplayLineError(lineno, 'expected {"topic": ..., "payload": ...}')
        msg = Inbound(str(doc["topic"]), _payload_bytes(doc["payload"]), clock())
        decoded = pipe.decode([msg])
        # Timers due before this reading's time fire first, each at its own due time.
        yield from _due(pipe, clock.at)
        yield from pipe.detect(decoded.readings).events
        if clock.at is not None and (last_tick is None or clock.at - last_tick >= TICK):
            last_tick = clock.at
            yield from pipe.advance(clock.at).events


def replay_lines(
    lines: Iterable[str], pipeline: Pipeline | None = None
) -> Iterator[dict[str, Any]]:
    """Alert events as the JSON objects `hmg replay` prints."""
    for event in replay_events(lines, pipeline):
        yield event_to_json(event)
