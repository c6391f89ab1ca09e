"""Physiological plausibility of decoded values (ranges from `devices.kinds`, cited there)."""

from __future__ import annotations

from collections.abc import Mapping

from devices.errors import DecodeError, RejectReason
from devices.kinds import METRICS


def check_plausible(values: Mapping[str, float]) -> None:
    """Reject values outside what any adult or device can produce, and inconsistent BP."""
    for name, value in values.items():
        spec = METRICS.get(name)
        if spec is not None and not spec.low <= value <= spec.high:
            raise DecodeError(
                RejectReason.IMPLAUSIBLE,
                f"{name} {value:g} {spec.ucum} outside plausible {spec.low:g}..{spec.high:g}",
            )
    sys_, dia = values.get("systolic"), values.get("diastolic")
    if sys_ is not None and dia is not None and sys_ <= dia:
        raise DecodeError(
            RejectReason.IMPLAUSIBLE, f"systolic {sys_:g} must exceed diastolic {dia:g}"
        )
