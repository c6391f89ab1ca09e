"""Wire contract v1 (`hm.reading/1`): one JSON object, or an array of them, per message."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from devices.codecs import fields
from devices.codecs.base import number, require
from devices.errors import DecodeError, RejectReason
from devices.kinds import ECG_SAMPLING, Kind
from devices.model import AttrValue, EcgChunk, Reading, Topic
from devices.timeparse import format_ts, parse_ts
from devices.validate import check_plausible

SCHEMA = "hm.reading/1"
MAX_BATCH = 1000
MAX_ECG_SAMPLES = ECG_SAMPLING.max_samples

Values = dict[str, float]
Attrs = dict[str, AttrValue]


def _bp(data: dict[str, Any]) -> tuple[Values, Attrs]:
    return fields.bp(data), {}


def _glucose(data: dict[str, Any]) -> tuple[Values, Attrs]:
    return fields.glucose(data, None)


def _scalar(name: str) -> Callable[[dict[str, Any]], tuple[Values, Attrs]]:
    def decode(data: dict[str, Any]) -> tuple[Values, Attrs]:
        return {name: number(data, "value", name)}, {}

    return decode


def _status(data: dict[str, Any]) -> tuple[Values, Attrs]:
    values: Values = {}
    attrs: Attrs = {}
    for key in ("battery", "rssi"):
        if data.get(key) is not None:
            values[key] = number(data, key, "status")
    if data.get("lead_off") is not None:
        attrs["lead_off"] = require(data, "lead_off", bool, "status")
    if data.get("firmware") is not None:
        attrs["firmware"] = require(data, "firmware", str, "status")
    if not values and not attrs:
        raise DecodeError(RejectReason.SCHEMA, "status: no known field")
    return values, attrs


def decode_ecg(data: dict[str, Any]) -> EcgChunk:
    """The ECG part of a v1 payload: integer samples or base64 little-endian int16."""
    fs = number(data, "fs", "ecg")
    gain = number(data, "gain", "ecg")
    lead = data.get("lead", "II")
    if not isinstance(lead, str):
        raise DecodeError(RejectReason.SCHEMA, "ecg: lead must be a string")
    baseline = data.get("baseline", 0)
    if not isinstance(baseline, int) or isinstance(baseline, bool):
        raise DecodeError(RejectReason.SCHEMA, "ecg: baseline must be an integer")
    if "samples_b64" in data:
        raw = require(data, "samples_b64", str, "ecg")
        try:
            buf = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(RejectReason.ECG_FORMAT, "ecg: samples_b64 is not base64") from exc
        if len(buf) % 2:
            raise DecodeError(RejectReason.ECG_FORMAT, "ecg: odd byte count for int16 samples")
        samples = np.frombuffer(buf, dtype="<i2").astype(np.int32)
    else:
        raw_list = require(data, "samples", list, "ecg")
        try:
            samples = np.asarray(raw_list, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DecodeError(RejectReason.ECG_FORMAT, "ecg: samples must be integers") from exc
        if samples.ndim != 1 or (samples.size and not np.issubdtype(samples.dtype, np.integer)):
            raise DecodeError(RejectReason.ECG_FORMAT, "ecg: samples must be integers")
        if samples.size and (samples.min() < -(2**31) or samples.max() >= 2**31):
            raise DecodeError(RejectReason.ECG_FORMAT, "ecg: sample out of 32-bit range")
        samples = samples.astype(np.int32)
    if samples.size > MAX_ECG_SAMPLES:
        raise DecodeError(RejectReason.TOO_LARGE, f"ecg: {samples.size} samples in one chunk")
    return EcgChunk(fs=fs, lead=lead, gain=gain, baseline=baseline, samples=samples)


_DATA_DECODERS: dict[Kind, Callable[[dict[str, Any]], tuple[Values, Attrs]]] = {
    Kind.BP: _bp,
    Kind.GLUCOSE: _glucose,
    Kind.HR: _scalar("hr"),
    Kind.SPO2: _scalar("spo2"),
    Kind.STATUS: _status,
}
KINDS = frozenset(_DATA_DECODERS) | {Kind.ECG, Kind.EVENT}
_KIND_BY_NAME = {k.value: k for k in KINDS}
MAX_SEQ = 2**63  # the store's BIGINT


class V1Codec:
    """Codec for DESIGN.md's wire contract v1."""

    name = "v1"

    def accepts(self, doc: Any) -> bool:
        first = doc[0] if isinstance(doc, list) and doc else doc
        return isinstance(first, dict) and first.get("schema") == SCHEMA

    def decode(self, topic: Topic, doc: Any, received_at: datetime) -> list[Reading]:
        items = doc if isinstance(doc, list) else [doc]
        if not items:
            raise DecodeError(RejectReason.SCHEMA, "empty batch")
        if len(items) > MAX_BATCH:
            raise DecodeError(RejectReason.TOO_LARGE, f"batch of {len(items)} > {MAX_BATCH}")
        return [self._one(topic, item, received_at) for item in items]

    def _one(self, topic: Topic, obj: Any, received_at: datetime) -> Reading:
        # Hot path (one call per message): exact type checks instead of the generic helpers.
        if type(obj) is not dict:
            raise DecodeError(RejectReason.MALFORMED, "batch item is not a JSON object")
        if obj.get("schema") != SCHEMA:
            raise DecodeError(RejectReason.SCHEMA, f"schema {obj.get('schema')!r} is not {SCHEMA}")
        device_id = obj.get("device_id")
        if type(device_id) is not str:
            device_id = require(obj, "device_id", str, "reading")
        if device_id != topic.device_id:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH,
                f"payload device_id {device_id!r} differs from topic device {topic.device_id!r}",
            )
        kind_s = obj.get("kind")
        if type(kind_s) is not str:
            kind_s = require(obj, "kind", str, "reading")
        if kind_s != topic.kind:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH, f"payload kind {kind_s!r} differs from topic"
            )
        kind = _KIND_BY_NAME.get(kind_s)
        if kind is None:
            raise DecodeError(RejectReason.SCHEMA, f"kind {kind_s!r} is not in wire contract v1")
        seq = obj.get("seq")
        if type(seq) is not int:
            seq = require(obj, "seq", int, "reading")
        if seq < 0 or seq >= MAX_SEQ:
            raise DecodeError(RejectReason.SCHEMA, f"seq must be in 0..2^63-1, not {seq}")
        ts = parse_ts(obj.get("ts"))
        patient_id = obj.get("patient_id")
        if patient_id is not None and type(patient_id) is not str:
            raise DecodeError(RejectReason.SCHEMA, "patient_id must be a string or null")
        data = obj.get("data")
        if type(data) is not dict:
            data = require(obj, "data", dict, "reading")
        ecg = None
        if kind is Kind.ECG:
            ecg = decode_ecg(data)
            values: Values = {}
            attrs: Attrs = {}
        elif kind is Kind.EVENT:
            values, attrs = fields.event(data, seq)
            check_plausible(values)
        else:
            values, attrs = _DATA_DECODERS[kind](data)
            check_plausible(values)
        return Reading(
            topic.tenant,
            device_id,
            kind,
            seq,
            ts,
            received_at,
            patient_id,
            values,
            attrs,
            ecg,
        )

    def encode(self, readings: Sequence[Reading]) -> bytes:
        docs = [to_wire(r) for r in readings]
        return json.dumps(docs[0] if len(docs) == 1 else docs, separators=(",", ":")).encode()


def to_wire(r: Reading, *, ecg_b64: bool = True) -> dict[str, Any]:
    """A reading as a v1 wire object (canonical units: mmHg, mmol/L)."""
    data: dict[str, Any]
    if r.kind is Kind.BP:
        data = {
            "systolic": r.values["systolic"],
            "diastolic": r.values["diastolic"],
            "unit": "mmHg",
        }
        if "pulse" in r.values:
            data["pulse"] = r.values["pulse"]
    elif r.kind is Kind.GLUCOSE:
        data = {"value": r.values["glucose"], "unit": "mmol/L", **r.attrs}
    elif r.kind is Kind.ECG:
        assert r.ecg is not None
        e = r.ecg
        data = {"fs": e.fs, "lead": e.lead, "gain": e.gain, "baseline": e.baseline}
        if ecg_b64:
            clipped = np.clip(e.samples, -32768, 32767).astype("<i2")
            data["samples_b64"] = base64.b64encode(clipped.tobytes()).decode("ascii")
        else:
            data["samples"] = e.samples.tolist()
    elif r.kind in (Kind.HR, Kind.SPO2):
        data = {"value": r.values[r.kind.value]}
    elif r.kind is Kind.EVENT:
        data = event_data(r)
    else:
        data = {**r.values, **r.attrs}
    return {
        "schema": SCHEMA,
        "device_id": r.device_id,
        "seq": r.seq,
        "ts": format_ts(r.ts),
        "kind": r.kind.value,
        "patient_id": r.patient_id,
        "data": data,
    }


def event_data(r: Reading) -> dict[str, Any]:
    """The `data` object of an event reading."""
    data: dict[str, Any] = {"type": r.attrs["type"]}
    if "confidence" in r.values:
        data["confidence"] = r.values["confidence"]
    location: dict[str, Any] = {
        k: r.values[k] for k in ("lat", "lon", "accuracy_m") if k in r.values
    }
    if "room" in r.attrs:
        location["room"] = r.attrs["room"]
    if location:
        data["location"] = location
    for key in ("component", "ref_seq"):
        if key in r.attrs:
            data[key] = r.attrs[key]
    return data
