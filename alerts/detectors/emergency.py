"""Emergency calls from wearers' devices: an SOS press or a detected fall opens an emergency alert.

Codes: `emergency.sos` and `emergency.fall`, one alert per event (group `{code}:{device}:{seq}`),
raised on the event itself with no warm-up: a call for help is never held back. A responder's
`help_arrived` (the home unit's button) confirms arrival on the patient's open calls. Falls: a watch
already gives the wearer about a minute to say "I'm fine" before it sends the alarm; a `cancel`
that still arrives within `fall_cancel_window` of the fall (device time) resolves the fall alert
with the outcome ``cancelled`` (recorded, not deleted). A later cancel, or a cancel of an SOS, is
stored with the event history but does not close the alert: someone already answering the call
decides. The gateway checks at decode that a cancel names a known sos/fall event
(`devices.events`) and writes what it refers to into the cancel's attributes (`ref_type`,
`ref_ts`), so this detector keeps no state and behaves the same after a restart.

Evidence carries what a responder needs from the event itself: the device, the triggering
component, the detection confidence and the location (coordinates with accuracy, or the room).

>>> from datetime import UTC, datetime
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> t = datetime(2026, 1, 1, 8, tzinfo=UTC)
>>> attrs = {"type": "sos", "room": "bedroom"}
>>> sos = Reading("t", "pendant-1", Kind.EVENT, 5, t, t, "p1", attrs=attrs)
>>> [c.code for c in EmergencyDetector(PatientContext("p1")).update(sos)]
['emergency.sos']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from alerts.detectors.base import PatientContext
from alerts.model import Action, AlertCandidate
from devices.events import EventRef
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

RAISING = {"sos": "emergency.sos", "fall": "emergency.fall"}
# The code of a `help_arrived` candidate: it names no alert of its own, the desk marks every
# open emergency call of the patient as attended (`alerts.desk`).
ARRIVAL = "emergency.arrival"


def event_group(code: str, device_id: str, seq: int) -> str:
    return f"{code}:{device_id}:{seq}"


def _where(r: Reading) -> tuple[str, str, dict[str, Any]]:
    """Location text (en, zh-CN) and evidence from an event reading."""
    loc: dict[str, Any] = {}
    room = r.attrs.get("room")
    if room is not None:
        loc["room"] = room
    for key in ("lat", "lon", "accuracy_m"):
        if key in r.values:
            loc[key] = r.values[key]
    if room is not None:
        return f" ({room})", f"（{room}）", loc
    if "lat" in loc:
        acc = f" ±{loc['accuracy_m']:.0f} m" if "accuracy_m" in loc else ""
        pos = f"{loc['lat']:.5f}, {loc['lon']:.5f}{acc}"
        return f" at {pos}", f"（位置 {pos}）", loc
    return "", "", loc


class EmergencyDetector:
    """Per-patient SOS and fall events."""

    name: ClassVar[str] = "emergency"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.EVENT})
    warm_up: ClassVar[str] = "none: every sos or fall event raises at once"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx

    def update(self, reading: Reading) -> list[AlertCandidate]:
        etype = reading.attrs.get("type")
        code = RAISING.get(str(etype))
        if code is not None:
            return [self._raise(code, reading)]
        if etype == "cancel":
            return self._cancel(reading)
        if etype == "help_arrived":  # the responder's button on the home unit
            by = f"home_unit:{reading.device_id}"
            return [AlertCandidate(self.ctx.patient_id, ARRIVAL, reading.ts, Action.ARRIVE, by=by)]
        return []

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []

    def _raise(self, code: str, r: Reading) -> AlertCandidate:
        where, where_zh, loc = _where(r)
        event: dict[str, Any] = {
            "type": r.attrs["type"],
            "device_id": r.device_id,
            "seq": r.seq,
            "ts": format_ts(r.ts),
        }
        if "component" in r.attrs:
            event["component"] = r.attrs["component"]
        if "confidence" in r.values:
            event["confidence"] = r.values["confidence"]
        if loc:
            event["location"] = loc
        return AlertCandidate(
            self.ctx.patient_id,
            code,
            r.ts,
            Action.RAISE,
            params={"device_id": r.device_id, "where": where, "where_zh": where_zh},
            evidence={"event": event},
            group=event_group(code, r.device_id, r.seq),
        )

    def _cancel(self, r: Reading) -> list[AlertCandidate]:
        ref, ref_seq = EventRef.of(r), r.attrs["ref_seq"]
        if ref is None or ref.type != "fall" or not isinstance(ref_seq, int):
            return []
        if r.ts - ref.ts > self.ctx.settings.fall_cancel_window:
            return []
        code = RAISING["fall"]
        return [
            AlertCandidate(
                self.ctx.patient_id,
                code,
                r.ts,
                Action.CLEAR,
                outcome="cancelled",
                evidence={
                    "cancel": {"device_id": r.device_id, "seq": r.seq, "ts": format_ts(r.ts)}
                },
                group=event_group(code, r.device_id, ref_seq),
            )
        ]
