"""Typed decode errors: every rejection carries a reason code and detail, never a bare exception."""

from __future__ import annotations

import enum


class RejectReason(enum.StrEnum):
    """Reason codes for dead-lettered input (stable strings: dashboards and metrics use them)."""

    MALFORMED = "malformed"  # not UTF-8 / not JSON / wrong JSON shape
    TOO_LARGE = "too_large"
    SCHEMA = "schema"  # unknown schema/version or missing/ill-typed field
    TOPIC = "topic"  # topic not in the hm/v1 namespace
    TOPIC_MISMATCH = "topic_mismatch"  # payload device_id or kind differs from the topic
    UNKNOWN_DEVICE = "unknown_device"
    RETIRED_DEVICE = "retired_device"
    NOT_KIOSK = "not_kiosk"  # patient_id or kiosk format from a personal device
    UNIT = "unit"
    IMPLAUSIBLE = "implausible"
    TIMESTAMP = "timestamp"  # unparseable or too far in the future
    ECG_FORMAT = "ecg_format"
    UNKNOWN_REF = "unknown_ref"  # an event (e.g. a cancel) that refers to no known event
    OTHER_TENANT = "other_tenant"  # a kiosk reading naming a patient of another tenant


class DecodeError(ValueError):
    """A payload that cannot become readings. `reason` is the dead-letter reason code."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
