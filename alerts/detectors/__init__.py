"""Detectors, registered in one explicit list; settings switch them on by name.

Every factory here goes through the same contract tests (tests/alerts/detectors/test_contract.py).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from alerts.detectors.base import (
    DEFAULT_SETTINGS,
    Detector,
    DetectorFactory,
    DetectorSettings,
    Observer,
    PatientContext,
)
from alerts.detectors.bp import BloodPressureDetector
from alerts.detectors.bp_trend import BloodPressureTrendDetector
from alerts.detectors.cv import CardiovascularDetector
from alerts.detectors.device import DeviceStatusDetector
from alerts.detectors.ecg import EcgDetector
from alerts.detectors.emergency import EmergencyDetector
from alerts.detectors.glucose import GlucoseDetector
from alerts.detectors.glucose_forecast import GlucoseForecastDetector
from alerts.detectors.inactivity import InactivityDetector

_FACTORIES: tuple[DetectorFactory, ...] = (
    EmergencyDetector,  # first: a call for help is handled before any measurement
    BloodPressureDetector,
    BloodPressureTrendDetector,
    GlucoseDetector,
    GlucoseForecastDetector,
    EcgDetector,  # before `cv`, which combines its rhythm findings with BP and glucose
    CardiovascularDetector,
    DeviceStatusDetector,
    InactivityDetector,
)

DETECTORS: Final[MappingProxyType[str, DetectorFactory]] = MappingProxyType(
    {f.name: f for f in _FACTORIES}  # type: ignore[attr-defined]
)

__all__ = [
    "DEFAULT_SETTINGS",
    "DETECTORS",
    "BloodPressureDetector",
    "BloodPressureTrendDetector",
    "CardiovascularDetector",
    "Detector",
    "DetectorFactory",
    "DetectorSettings",
    "DeviceStatusDetector",
    "EcgDetector",
    "EmergencyDetector",
    "GlucoseDetector",
    "GlucoseForecastDetector",
    "InactivityDetector",
    "Observer",
    "PatientContext",
]
