"""Building v1 wire messages (DESIGN.md "Wire contract v1") from simulated values.

A `Message` is what a device would put on the broker: its topic, its payload bytes and the device
time at which it is sent. `DeviceWire` keeps one device's sequence counter and encodes readings
through `devices.codecs.v1.to_wire`, so the simulator and the decoder share one definition of the
contract; per-device unit choices (mg/dL glucometers, kPa cuffs) are applied on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from devices.codecs.v1 import to_wire
from devices.kinds import MGDL_PER_MMOLL, Kind
from devices.model import EcgChunk, Reading

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, order=True)
class Message:
    """One MQTT publication; `at` is the device time it is sent (ordering key)."""

    at: datetime
    topic: str = field(compare=False)
    payload: bytes = field(compare=False)

    def record(self) -> dict[str, Any]:
        """The `hmg replay` JSONL form: a JSON payload as a value, anything else as a string."""
        try:
            value: Any = json.loads(self.payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            value = self.payload.decode("utf-8", errors="replace")
        return {"topic": self.topic, "payload": value}


def dumps(doc: Any) -> bytes:
    """Compact JSON, as `V1Codec.encode` writes it."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def topic_for(tenant: str, device_id: str, kind: str) -> str:
    return f"hm/v1/{tenant}/{device_id}/{kind}"


@dataclass(slots=True)
class DeviceWire:
    """Encoder for one device: `seq` grows by one per reading, as the contract requires.

    `glucose_unit` / `pressure_unit` choose what the device displays (`mg/dL`, `kPa`); `kiosk`
    devices put the patient in the payload, personal devices send `patient_id: null`.
    """

    tenant: str
    device_id: str
    kiosk: bool = False
    glucose_unit: str = "mmol/L"
    pressure_unit: str = "mmHg"
    seq: int = 0
    last_alarm: int | None = None  # seq of the last sos or fall this device sent

    def _reading(
        self,
        kind: Kind,
        ts: datetime,
        values: dict[str, float],
        attrs: dict[str, str | bool | float | int] | None = None,
        ecg: EcgChunk | None = None,
        patient_id: str | None = None,
    ) -> Reading:
        self.seq += 1
        return Reading(
            tenant=self.tenant,
            device_id=self.device_id,
            kind=kind,
            seq=self.seq,
            ts=ts,
            received_at=ts,
            patient_id=patient_id if self.kiosk else None,
            values=values,
            attrs=attrs or {},
            ecg=ecg,
        )

    def _message(self, reading: Reading, doc: dict[str, Any]) -> Message:
        return Message(
            reading.ts, topic_for(self.tenant, self.device_id, reading.kind.value), dumps(doc)
        )

    def bp(
        self, ts: datetime, systolic: float, diastolic: float, pulse: float, patient: str = ""
    ) -> Message:
        r = self._reading(
            Kind.BP,
            ts,
            {"systolic": systolic, "diastolic": diastolic, "pulse": pulse},
            patient_id=patient or None,
        )
        doc = to_wire(r)
        if self.pressure_unit == "kPa":
            doc["data"].update(
                systolic=round(systolic / 7.50062, 2),
                diastolic=round(diastolic / 7.50062, 2),
                unit="kPa",
            )
        else:
            doc["data"].update(systolic=round(systolic), diastolic=round(diastolic))
        doc["data"]["pulse"] = round(pulse)
        return self._message(r, doc)

    def glucose(
        self, ts: datetime, mmol: float, source: str, context: str | None = None, patient: str = ""
    ) -> Message:
        attrs: dict[str, str | bool | float | int] = {"source": source}
        if context:
            attrs["context"] = context
        r = self._reading(Kind.GLUCOSE, ts, {"glucose": mmol}, attrs, patient_id=patient or None)
        doc = to_wire(r)
        if self.glucose_unit == "mg/dL":
            doc["data"].update(value=round(mmol * MGDL_PER_MMOLL), unit="mg/dL")
        else:
            doc["data"]["value"] = round(mmol, 1)
        return self._message(r, doc)

    def scalar(self, kind: Kind, ts: datetime, value: float, patient: str = "") -> Message:
        r = self._reading(kind, ts, {kind.value: value}, patient_id=patient or None)
        doc = to_wire(r)
        doc["data"]["value"] = round(value)
        return self._message(r, doc)

    def status(
        self, ts: datetime, *, battery: float | None = None, lead_off: bool | None = None
    ) -> Message:
        values = {} if battery is None else {"battery": round(battery, 3)}
        attrs: dict[str, str | bool | float | int] = {}
        if lead_off is not None:
            attrs["lead_off"] = lead_off
        return self._message(r := self._reading(Kind.STATUS, ts, values, attrs), to_wire(r))

    def event(
        self,
        ts: datetime,
        etype: str,
        *,
        confidence: float | None = None,
        room: str | None = None,
        component: str | None = None,
    ) -> Message:
        """An emergency event; a ``cancel`` takes back this device's last sos or fall."""
        values = {} if confidence is None else {"confidence": round(confidence, 2)}
        attrs: dict[str, str | bool | float | int] = {"type": etype}
        if room is not None:
            attrs["room"] = room
        if component is not None:
            attrs["component"] = component
        if etype == "cancel":
            if self.last_alarm is None:
                raise ValueError(f"{self.device_id}: a cancel needs an earlier sos or fall")
            attrs["ref_seq"] = self.last_alarm
        r = self._reading(Kind.EVENT, ts, values, attrs)
        if etype in ("sos", "fall"):
            self.last_alarm = r.seq
        return self._message(r, to_wire(r))

    def ecg(
        self,
        ts: datetime,
        fs: float,
        samples: npt.NDArray[np.int32],
        gain: float,
        baseline: int = 0,
        lead: str = "II",
    ) -> Message:
        chunk = EcgChunk(fs=fs, lead=lead, gain=gain, baseline=baseline, samples=samples)
        r = self._reading(Kind.ECG, ts, {}, ecg=chunk)
        return self._message(r, to_wire(r))
