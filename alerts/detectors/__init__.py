"""Detectors, registered in one explicit list; settings switch them on by name."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from alerts.detectors.base import Detector, DetectorFactory, PatientContext
from alerts.detectors.threshold import BloodPressureDetector, GlucoseDetector

DETECTORS: Final[MappingProxyType[str, DetectorFactory]] = MappingProxyType(
    {
        BloodPressureDetector.name: BloodPressureDetector,
        GlucoseDetector.name: GlucoseDetector,
    }
)

__all__ = [
    "DETECTORS",
    "BloodPressureDetector",
    "Detector",
    "DetectorFactory",
    "GlucoseDetector",
    "PatientContext",
]
