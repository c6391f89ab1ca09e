"""Ground truth: what really happened to whom, and which alert codes it should raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.timeparse import format_ts


@dataclass(frozen=True, slots=True)
class Episode:
    """A labelled stretch of a patient's (or device's) stream.

    `codes` are the alert codes a correct detector should open for it (empty for benign or
    artefact episodes that should *not* alarm, e.g. a CGM compression low or a cuff artefact).
    """

    patient_id: str
    label: str
    start: datetime
    end: datetime
    codes: tuple[str, ...] = ()
    device_id: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("episode end precedes its start")

    def record(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "device_id": self.device_id,
            "label": self.label,
            "start": format_ts(self.start),
            "end": format_ts(self.end),
            "codes": list(self.codes),
            "detail": self.detail,
        }


def expected_codes(episodes: list[Episode]) -> set[str]:
    return {c for e in episodes for c in e.codes}
