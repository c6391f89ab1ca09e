"""What a referral carries to the hospital: the alert, the patient's recent readings and a
reference to their latest ECG strip, frozen at the time of the referral."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.model import Alert
from alerts.referral import EcgStripRef, EvidenceReading, ReferralEvidence
from gateway.storage import ReadingStore

# Readings looked at, and kept, per referral.
MAX_READINGS = 200
KEPT_READINGS = 50


async def referral_evidence(
    readings: ReadingStore, alert: Alert, end: datetime, hours: float
) -> ReferralEvidence:
    """The evidence of a referral of `alert` made at `end`, over the `hours` before."""
    start = end - timedelta(hours=hours)
    found = await readings.query(alert.patient, None, start, end, limit=MAX_READINGS)
    vitals: list[EvidenceReading] = []
    ecg_ref = None
    for r in found:
        if r.ecg is not None:
            ecg_ref = EcgStripRef(
                f"urn:hmg:ecg:{r.device_id}:{r.seq}", r.device_id, r.ts, r.ecg.fs, r.ecg.lead
            )
            continue
        values = dict(r.values)
        display = f"{r.kind.value} {values}"
        vitals.append(
            EvidenceReading(f"{r.device_id}-{r.seq}", display, r.kind.value, r.ts, values)
        )
    return ReferralEvidence(
        alert={
            "code": alert.code,
            "priority": alert.priority.value,
            "message": dict(alert.message),
        },
        alert_evidence=dict(alert.evidence),
        readings=tuple(vitals[-KEPT_READINGS:]),
        ecg_strip=ecg_ref,
        start=start,
        end=end,
    )
