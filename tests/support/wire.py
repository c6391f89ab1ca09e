"""Wire contract v1 messages for tests (DESIGN.md `hm.reading/1`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devices.timeparse import format_ts


def v1_doc(
    device: str,
    kind: str,
    seq: int,
    data: dict[str, Any],
    ts: datetime | str,
    patient_id: str | None = None,
) -> dict[str, Any]:
    """One v1 reading object; a datetime `ts` is written the way devices write it (UTC, `Z`)."""
    return {
        "schema": "hm.reading/1",
        "device_id": device,
        "seq": seq,
        "ts": ts if isinstance(ts, str) else format_ts(ts),
        "kind": kind,
        "patient_id": patient_id,
        "data": data,
    }


def v1(
    device: str,
    kind: str,
    seq: int,
    data: dict[str, Any],
    ts: datetime | str,
    patient_id: str | None = None,
) -> bytes:
    """The same reading as an MQTT payload."""
    return json.dumps(v1_doc(device, kind, seq, data, ts, patient_id)).encode()
