"""Versioned, signed snapshots of detector state, with the stream position they cover.

Used by the single gateway (a file in the data directory, positions are reading row ids) and by
scaled-out workers (one object per partition, positions are JetStream sequences).

A snapshot is a one-line JSON header and a pickled state object. The header says the format
version, the partition, and the last stream sequence whose readings the state has seen; the
body is signed with HMAC-SHA256 under the deployment's secret, so a snapshot store that someone
else can write to cannot make a worker unpickle their bytes.

A snapshot of another version (detector classes changed shape) is discarded with a log line and
the detectors warm up again; it never crashes the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from alerts.desk import AlertDesk
from alerts.detectors import Detector
from alerts.detectors.device import StaleWatch
from alerts.engine import DetectionEngine
from devices.model import PatientKey

log = logging.getLogger(__name__)

FORMAT = "hmg.snapshot"
# Bump whenever a detector's, the analyser's or the desk's state changes shape.
# 2: detectors keyed by `PatientKey` (tenant, patient id) instead of the patient id alone.
VERSION = 2


class SnapshotError(ValueError):
    """A snapshot that must not be used: unreadable header or a bad signature."""


@dataclass(slots=True)
class DetectorState:
    """What a snapshot keeps: each patient's detectors (BP repeat windows, CGM trends, the ECG
    analyser, ...) and the staleness watch's view of each device. Alerts and escalation timers
    are not in it: they are in the relational store, which is their record."""

    detectors: dict[PatientKey, list[Detector]]
    stale: StaleWatch

    @classmethod
    def capture(cls, engine: DetectionEngine, desk: AlertDesk) -> DetectorState:
        return cls(engine.export_state(), desk.stale)

    def restore(self, engine: DetectionEngine, desk: AlertDesk) -> None:
        engine.import_state(self.detectors)
        desk.stale = self.stale


@dataclass(frozen=True, slots=True)
class Snapshot:
    partition: int
    seq: int
    created_at: datetime
    state: object


def _readonly(items: dict[object, object]) -> MappingProxyType[object, object]:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    """Pickles read-only mappings (the detectors' settings and targets hold some) as copies."""

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, MappingProxyType):
            return _readonly, (dict(obj),)
        return NotImplemented


def seal(state: object, partition: int, seq: int, key: bytes, now: datetime) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    body = buf.getvalue()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "partition": partition,
        "seq": seq,
        "created_at": now.astimezone(UTC).isoformat(),
        "hmac": hmac.new(key, body, hashlib.sha256).hexdigest(),
    }
    return json.dumps(header).encode() + b"\n" + body


def unseal(blob: bytes, key: bytes, *, version: int = VERSION) -> Snapshot | None:
    """The snapshot in `blob`, or None (logged) when it is of another version.

    Raises `SnapshotError` for a damaged or forged snapshot: the caller discards it too, but
    that case deserves an error in the log, not a warning.
    """
    head, sep, body = blob.partition(b"\n")
    try:
        header = json.loads(head)
        fmt, ver = header["format"], header["version"]
        partition, seq = int(header["partition"]), int(header["seq"])
        created = datetime.fromisoformat(header["created_at"])
        mac = str(header["hmac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"unreadable snapshot header: {exc}") from exc
    if not sep or fmt != FORMAT:
        raise SnapshotError("not a detector snapshot")
    if ver != version:
        log.warning(
            "discarding snapshot of partition %d: version %s, this gateway reads %d "
            "(detectors warm up again)",
            partition,
            ver,
            version,
        )
        return None
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).hexdigest()):
        raise SnapshotError(f"snapshot of partition {partition} has a bad signature")
    return Snapshot(partition, seq, created, pickle.loads(body))  # signed above
