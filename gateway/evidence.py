"""What a referral carries to the hospital: the alert, the patient's recent readings and a
reference to their latest ECG strip, frozen at the time of the referral."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alerts.model import Alert
from devices.timeparse import format_ts
from gateway.storage import ReadingStore

# Readings looked at, and kept, per referral.
MAX_READINGS = 200
KEPT_READINGS = 50


async def referral_evidence(
    readings: ReadingStore, alert: Alert, end: datetime, hours: float
) -> dict[str, Any]:
    """The evidence document of a referral of `alert` made at `end`, over the `hours` before."""
    start = end - timedelta(hours=hours)
    found = await readings.query(alert.patient, None, start, end, limit=MAX_READINGS)
    vitals: list[dict[str, Any]] = []
    ecg_ref = None
    for r in found:
        if r.ecg is not None:
            ecg_ref = {
                "ref": f"urn:hmg:ecg:{r.device_id}:{r.seq}",
                "device_id": r.device_id,
                "ts": format_ts(r.ts),
                "fs": r.ecg.fs,
                "lead": r.ecg.lead,
            }
            continue
        vitals.append(
            {
                "id": f"{r.device_id}-{r.seq}",
                "kind": r.kind.value,
                "ts": format_ts(r.ts),
                "values": dict(r.values),
                "display": f"{r.kind.value} {dict(r.values)}",
            }
        )
    return {
        "alert": {
            "code": alert.code,
            "priority": alert.priority.value,
            "message": dict(alert.message),
        },
        "alert_evidence": dict(alert.evidence),
        "readings": vitals[-KEPT_READINGS:],
        "ecg_strip": ecg_ref,
        "window": {"start": format_ts(start), "end": format_ts(end)},
    }
