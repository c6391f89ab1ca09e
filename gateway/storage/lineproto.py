"""InfluxDB line protocol for readings, and readings back from InfluxQL result rows.

Schema (one measurement per kind; see docs/storage.md):
- measurement: the kind (`bp`, `glucose`, `hr`, `spo2`, `weight`, `status`, `ecg`);
  derived ECG beats go to `ecg_beat`.
- tags: `tenant`, `patient`, `device`, `kind`.
- fields: every metric value as a float (`systolic`, `glucose`, ...); `seq` (integer);
  `received_us` (integer, gateway clock); `attrs` (JSON string); `flags` (comma list).
  ECG chunks: `fs`, `gain`, `baseline`, `lead`, `n` (sample count), `enc` (`i16`/`i32`) and
  `samples`: base64 of the little-endian samples, one point per chunk (not per sample).
- time: the device timestamp in microseconds plus `seq mod 1000` nanoseconds. A redelivered
  reading lands on the same point (same series and time) and overwrites it; two different
  readings of one device at the same microsecond still get distinct points.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, Reading

BEAT_MEASUREMENT = "ecg_beat"
TAG_COLUMNS = ("tenant", "patient", "device", "kind")
# Strings in InfluxDB 1.x are limited to 64 KiB; longer ECG chunks are split into several points.
MAX_SAMPLES_PER_POINT = 16_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _escape_tag(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def _str_field(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}i"
    if isinstance(v, float):
        return repr(v)
    return _str_field(str(v))


def epoch_us(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


def point_ns(ts: datetime, seq: int) -> int:
    """Point time: microsecond device time, with `seq` folded into the nanoseconds."""
    return epoch_us(ts) * 1000 + seq % 1000


def from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def line(
    measurement: str, tags: Mapping[str, str | None], fields: Mapping[str, object], ns: int
) -> str:
    tag_part = "".join(f",{k}={_escape_tag(v)}" for k, v in sorted(tags.items()) if v)
    field_part = ",".join(f"{k}={_field(v)}" for k, v in fields.items())
    return f"{measurement}{tag_part} {field_part} {ns}"


def _tags(r: Reading) -> dict[str, str | None]:
    return {
        "tenant": r.tenant,
        "patient": r.patient_id,
        "device": r.device_id,
        "kind": r.kind.value,
    }


def reading_lines(r: Reading) -> list[str]:
    """The points of one reading (one, or several for a very long ECG chunk)."""
    base: dict[str, object] = {k: float(v) for k, v in r.values.items()}
    base["seq"] = r.seq
    base["received_us"] = epoch_us(r.received_at)
    base["attrs"] = json.dumps(dict(r.attrs), separators=(",", ":"), sort_keys=True)
    base["flags"] = ",".join(sorted(r.flags))
    if r.ecg is None:
        return [line(r.kind.value, _tags(r), base, point_ns(r.ts, r.seq))]
    e = r.ecg
    fits16 = (
        bool(e.samples.size) and int(e.samples.min()) >= -32768 and int(e.samples.max()) <= 32767
    )
    dtype, enc = ("<i2", "i16") if fits16 else ("<i4", "i32")
    out = []
    for k in range(0, e.samples.size, MAX_SAMPLES_PER_POINT):
        part = e.samples[k : k + MAX_SAMPLES_PER_POINT]
        fields = {
            **base,
            "fs": float(e.fs),
            "gain": float(e.gain),
            "baseline": int(e.baseline),
            "lead": e.lead,
            "n": int(part.size),
            "offset": k,
            "enc": enc,
            "samples": base64.b64encode(part.astype(dtype).tobytes()).decode("ascii"),
        }
        ts = r.ts + timedelta(seconds=k / e.fs)
        out.append(line(r.kind.value, _tags(r), fields, point_ns(ts, r.seq)))
    return out


_RESERVED = frozenset(
    {"time", *TAG_COLUMNS, "seq", "received_us", "attrs", "flags"}
    | {"fs", "gain", "baseline", "lead", "n", "offset", "enc", "samples"}
)


def row_to_reading(measurement: str, row: Mapping[str, Any]) -> Reading:
    """A reading (or one part of a split ECG chunk) from an InfluxQL `SELECT *` row."""
    kind = Kind(measurement)
    ecg = None
    if kind is Kind.ECG:
        dtype = "<i2" if row.get("enc") == "i16" else "<i4"
        samples = np.frombuffer(base64.b64decode(row["samples"]), dtype=dtype).astype(np.int32)
        ecg = EcgChunk(
            float(row["fs"]),
            str(row.get("lead") or ""),
            float(row["gain"]),
            int(row.get("baseline") or 0),
            samples,
        )
    ts = from_ns(int(row["time"]))
    if ecg is not None and row.get("offset"):
        ts -= timedelta(seconds=int(row["offset"]) / ecg.fs)
    values = {
        k: float(v)
        for k, v in row.items()
        if k not in _RESERVED
        and v is not None
        and isinstance(v, int | float)
        and not isinstance(v, bool)
    }
    return Reading(
        tenant=str(row.get("tenant") or ""),
        device_id=str(row["device"]),
        kind=kind,
        seq=int(row["seq"]),
        ts=ts,
        received_at=_EPOCH + timedelta(microseconds=int(row.get("received_us") or 0)),
        patient_id=row.get("patient"),
        values=values,
        attrs=json.loads(row.get("attrs") or "{}"),
        ecg=ecg,
        flags=frozenset(f for f in str(row.get("flags") or "").split(",") if f),
    )


def merge_split_chunks(readings: list[Reading]) -> list[Reading]:
    """Join the parts of ECG chunks that were split into several points (same device and seq)."""
    out: list[Reading] = []
    for r in readings:
        prev = out[-1] if out else None
        if (
            prev is not None
            and r.ecg is not None
            and prev.ecg is not None
            and prev.key == r.key
            and prev.ts == r.ts
        ):
            samples = np.concatenate([prev.ecg.samples, r.ecg.samples])
            e = prev.ecg
            chunk = EcgChunk(e.fs, e.lead, e.gain, e.baseline, samples)
            out[-1] = Reading(
                prev.tenant,
                prev.device_id,
                prev.kind,
                prev.seq,
                prev.ts,
                prev.received_at,
                prev.patient_id,
                prev.values,
                prev.attrs,
                chunk,
                prev.flags,
            )
        else:
            out.append(r)
    return out
