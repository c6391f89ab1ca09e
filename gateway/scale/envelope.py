"""Routed readings: a decoded, patient-resolved reading as it travels from a router to the
worker that owns its patient's partition.

The envelope carries everything the detectors read (resolved patient, flags, receive time, the
ECG chunk as base64 int32) so a worker never decodes device payloads or reads the device
registry again: the router's decision is the one that was stored.

>>> from datetime import UTC, datetime
>>> from devices.kinds import Kind
>>> t = datetime(2026, 11, 29, 8, tzinfo=UTC)
>>> r = Reading("t", "cuff-1", Kind.BP, 7, t, t, "p-1", {"systolic": 182.0, "diastolic": 121.0})
>>> unpack(pack(r)) == r
True
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, Reading

SCHEMA = "hmg.routed/1"


class EnvelopeError(ValueError):
    """A routed message this worker cannot read (another schema, or damaged)."""


def msg_id(reading: Reading) -> str:
    """The JetStream de-duplication id: a device never reuses a sequence number."""
    return f"{reading.tenant}/{reading.device_id}/{reading.seq}"


def pack(r: Reading) -> bytes:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "tenant": r.tenant,
        "device_id": r.device_id,
        "kind": r.kind.value,
        "seq": r.seq,
        "ts": r.ts.isoformat(),
        "received_at": r.received_at.isoformat(),
        "patient_id": r.patient_id,
        "values": dict(r.values),
        "attrs": dict(r.attrs),
        "flags": sorted(r.flags),
    }
    if r.ecg is not None:
        doc["ecg"] = {
            "fs": r.ecg.fs,
            "lead": r.ecg.lead,
            "gain": r.ecg.gain,
            "baseline": r.ecg.baseline,
            "samples": base64.b64encode(r.ecg.samples.astype("<i4").tobytes()).decode(),
        }
    return json.dumps(doc, separators=(",", ":")).encode()


def unpack(data: bytes) -> Reading:
    try:
        doc = json.loads(data)
        if doc.get("schema") != SCHEMA:
            raise EnvelopeError(f"not a routed reading: schema {doc.get('schema')!r}")
        ecg = None
        if (e := doc.get("ecg")) is not None:
            samples = np.frombuffer(base64.b64decode(e["samples"]), dtype="<i4").astype(np.int32)
            ecg = EcgChunk(float(e["fs"]), str(e["lead"]), float(e["gain"]), int(e["baseline"]),
                           samples)  # fmt: skip
        return Reading(
            str(doc["tenant"]),
            str(doc["device_id"]),
            Kind(doc["kind"]),
            int(doc["seq"]),
            datetime.fromisoformat(doc["ts"]),
            datetime.fromisoformat(doc["received_at"]),
            doc["patient_id"],
            {str(k): float(v) for k, v in doc["values"].items()},
            dict(doc["attrs"]),
            ecg,
            frozenset(doc["flags"]),
        )
    except EnvelopeError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EnvelopeError(f"damaged routed reading: {exc}") from exc
