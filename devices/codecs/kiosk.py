"""Health-kiosk batch format (`hm.kiosk/1`): one visit, several measurements, one elder.

A shared community kiosk measures a visiting elder (identified in the payload) and sends all of
the visit's measurements in one message on `hm/v1/{tenant}/{kiosk_id}/kiosk`. The topic kind
`kiosk` is an extension of the fixed kind list: a visit is not one kind, and a dedicated kind lets
the ACL and the gateway accept this format only from devices registered as kiosks (the intake
checks the registry before decoding). Each measurement becomes one reading of an ordinary kind, so
storage, detectors and FHIR export need nothing kiosk-specific.

    {"schema": "hm.kiosk/1", "device_id": "kiosk-07", "seq": 311,
     "ts": "2026-11-22T08:00:00Z", "patient_id": "p-001",
     "measurements": {"bp": {"systolic": 152, "diastolic": 94, "unit": "mmHg"},
                      "glucose": {"value": 6.8, "unit": "mmol/L", "context": "fasting"},
                      "pulse": {"value": 78},
                      "weight": {"value": 61.5, "unit": "kg"}}}

`seq` counts visits; reading `seq` = visit seq x 8 + slot (bp 0, glucose 1, pulse 2, weight 3),
so a redelivered visit is stored once, measurement by measurement. A measurement may carry its own
`ts` (the whole visit otherwise shares the message `ts`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from devices.codecs import fields
from devices.codecs.base import number, require
from devices.errors import DecodeError, RejectReason
from devices.kinds import Kind
from devices.model import AttrValue, Reading, Topic
from devices.timeparse import format_ts, parse_ts
from devices.validate import check_plausible

SCHEMA: Final = "hm.kiosk/1"
TOPIC_KIND: Final = "kiosk"
SLOTS: Final = 8
MAX_VISIT_SEQ: Final = 2**63 // SLOTS

Values = dict[str, float]
Attrs = dict[str, AttrValue]


def _bp(m: dict[str, Any]) -> tuple[Values, Attrs]:
    return fields.bp(m), {"source": "kiosk"}


def _glucose(m: dict[str, Any]) -> tuple[Values, Attrs]:
    return fields.glucose(m, "mmol/L", "fingerstick")


def _pulse(m: dict[str, Any]) -> tuple[Values, Attrs]:
    return {"hr": number(m, "value", "pulse")}, {"source": "kiosk"}


def _weight(m: dict[str, Any]) -> tuple[Values, Attrs]:
    return {"weight": fields.quantity(m, "value", "weight", m.get("unit", "kg"), "weight")}, {
        "source": "kiosk"
    }


# measurement key -> (reading kind, seq slot, decoder); one table, in slot order.
MEASUREMENTS: Final[
    dict[str, tuple[Kind, int, Callable[[dict[str, Any]], tuple[Values, Attrs]]]]
] = {
    "bp": (Kind.BP, 0, _bp),
    "glucose": (Kind.GLUCOSE, 1, _glucose),
    "pulse": (Kind.HR, 2, _pulse),
    "weight": (Kind.WEIGHT, 3, _weight),
}
_BY_KIND: Final = {kind: (key, slot) for key, (kind, slot, _) in MEASUREMENTS.items()}


class KioskCodec:
    """Codec for the kiosk visit format."""

    name = "kiosk"

    def accepts(self, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("schema") == SCHEMA

    def decode(self, topic: Topic, doc: Any, received_at: datetime) -> list[Reading]:
        if topic.kind != TOPIC_KIND:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH,
                f"kiosk visits go to .../{TOPIC_KIND}, not {topic.kind!r}",
            )
        device_id = require(doc, "device_id", str, "kiosk")
        if device_id != topic.device_id:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH,
                f"payload device_id {device_id!r} differs from topic device {topic.device_id!r}",
            )
        seq = require(doc, "seq", int, "kiosk")
        if not 0 <= seq < MAX_VISIT_SEQ:
            raise DecodeError(RejectReason.SCHEMA, f"kiosk: seq {seq} out of range")
        patient_id = require(doc, "patient_id", str, "kiosk")
        if not patient_id:
            raise DecodeError(RejectReason.SCHEMA, "kiosk: empty patient_id")
        ts = parse_ts(doc.get("ts"))
        measurements = require(doc, "measurements", dict, "kiosk")
        unknown = set(measurements) - set(MEASUREMENTS)
        if unknown:
            raise DecodeError(
                RejectReason.SCHEMA, f"kiosk: unknown measurement(s) {sorted(unknown)}"
            )
        if not measurements:
            raise DecodeError(RejectReason.SCHEMA, "kiosk: no measurements")
        out = []
        for key, (kind, slot, decoder) in MEASUREMENTS.items():
            m = measurements.get(key)
            if m is None:
                continue
            if not isinstance(m, dict):
                raise DecodeError(RejectReason.SCHEMA, f"kiosk: {key} is not an object")
            values, attrs = decoder(m)
            check_plausible(values)
            m_ts = parse_ts(m["ts"]) if "ts" in m else ts
            out.append(
                Reading(
                    topic.tenant,
                    device_id,
                    kind,
                    seq * SLOTS + slot,
                    m_ts,
                    received_at,
                    patient_id,
                    values,
                    attrs,
                )
            )
        return out

    def encode(self, readings: Sequence[Reading]) -> bytes:
        """One visit: readings of one kiosk, one patient and one visit seq."""
        if not readings:
            raise ValueError("nothing to encode")
        first = readings[0]
        visit = first.seq // SLOTS
        measurements: dict[str, Any] = {}
        for r in readings:
            if r.seq // SLOTS != visit or r.patient_id != first.patient_id:
                raise ValueError("readings of one visit only")
            key, _slot = _BY_KIND[r.kind]
            m: dict[str, Any]
            if r.kind is Kind.BP:
                m = {"systolic": r.values["systolic"], "diastolic": r.values["diastolic"]}
                m["unit"] = "mmHg"
                if "pulse" in r.values:
                    m["pulse"] = r.values["pulse"]
            elif r.kind is Kind.GLUCOSE:
                m = {"value": r.values["glucose"], "unit": "mmol/L"}
                if "context" in r.attrs:
                    m["context"] = r.attrs["context"]
            elif r.kind is Kind.HR:
                m = {"value": r.values["hr"]}
            else:
                m = {"value": r.values["weight"], "unit": "kg"}
            if r.ts != first.ts:
                m["ts"] = format_ts(r.ts)
            measurements[key] = m
        doc = {
            "schema": SCHEMA,
            "device_id": first.device_id,
            "seq": visit,
            "ts": format_ts(first.ts),
            "patient_id": first.patient_id,
            "measurements": measurements,
        }
        return json.dumps(doc, separators=(",", ":")).encode()
