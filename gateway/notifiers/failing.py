"""A notification channel that keeps failing: the technical alert `notify.channel_failed` on
the elder whose notices it could not deliver (the outbox's, the platform push's, the results
notices' and the follow-ups')."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.model import AlertCandidate
from gateway.storage.outbox import OutboxEntry

CHANNEL_FAILED = "notify.channel_failed"


def failing_channel(
    channel: str,
    patient_id: str,
    tenant: str,
    error: str,
    now: datetime,
    attempts: int,
    **about: Any,
) -> AlertCandidate:
    """The technical alert `notify.channel_failed` on the elder `patient_id`: `channel` failed
    `attempts` times to deliver what `about` names."""
    return AlertCandidate(
        patient_id, CHANNEL_FAILED, now,
        params={"channel": channel, "error": error[:200]},
        evidence={"channel": channel, "error": error[:500], **about, "attempts": attempts},
        group=f"{CHANNEL_FAILED}:{channel}", tenant=tenant,
    )  # fmt: skip


def channel_failed(
    entry: OutboxEntry, error: str, now: datetime
) -> tuple[list[AlertCandidate], str] | None:
    """The technical alert for a channel that keeps failing to deliver `entry` (candidates and
    tenant), or None when `entry` is itself such an alert's notice (no alert about an alert
    about a channel)."""
    alert = entry.payload.get("alert", {})
    if str(alert.get("code", "")).startswith("notify."):
        return None
    tenant = str(alert["tenant"])
    cand = failing_channel(
        entry.channel, str(alert["patient_id"]), tenant, error, now, entry.attempts + 1,
        alert_id=entry.alert_id, delivery_id=entry.delivery_id,
    )  # fmt: skip
    return [cand], tenant
