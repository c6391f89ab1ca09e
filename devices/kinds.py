"""One declarative table of reading kinds and metrics: canonical UCUM units, LOINC codes, ranges.

Every unit conversion happens once, at decode, into the canonical unit named here. The plausibility
ranges reject values no living adult can have (or no device can measure), not abnormal ones: an
abnormal value is exactly what the gateway exists to see.

Sources for the plausibility limits:
- BP: ISO 81060-2:2018 requires automated sphygmomanometers to measure at least 60-260 mmHg systolic
  and 40-130 mmHg diastolic; we accept 40-300 / 20-200 to keep extreme but real crises.
- Glucose: home glucometers under ISO 15197:2013 report 1.1-33.3 mmol/L (20-600 mg/dL); CGMs
  report 2.2-22.2 mmol/L (40-400 mg/dL). We accept 0.5-45 mmol/L.
- Heart rate 20-300 /min; SpO2 50-100 %.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class Kind(enum.StrEnum):
    """The `kind` segment of the topic `hm/v1/{tenant}/{device_id}/{kind}`."""

    BP = "bp"
    GLUCOSE = "glucose"
    ECG = "ecg"
    HR = "hr"
    SPO2 = "spo2"
    STATUS = "status"
    WEIGHT = "weight"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A numeric metric carried by a reading, in its canonical unit."""

    name: str
    kind: Kind
    loinc: str
    display: str
    ucum: str
    low: float
    high: float


_METRIC_LIST: Final = (
    MetricSpec("systolic", Kind.BP, "8480-6", "Systolic blood pressure", "mm[Hg]", 40, 300),
    MetricSpec("diastolic", Kind.BP, "8462-4", "Diastolic blood pressure", "mm[Hg]", 20, 200),
    MetricSpec("pulse", Kind.BP, "8867-4", "Heart rate", "/min", 20, 300),
    MetricSpec(
        "glucose", Kind.GLUCOSE, "15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", 0.5, 45
    ),
    MetricSpec("hr", Kind.HR, "8867-4", "Heart rate", "/min", 20, 300),
    MetricSpec("spo2", Kind.SPO2, "59408-5", "Oxygen saturation by pulse oximetry", "%", 50, 100),
    MetricSpec("weight", Kind.WEIGHT, "29463-7", "Body weight", "kg", 20, 300),
    MetricSpec("battery", Kind.STATUS, "", "Battery level", "1", 0, 1),
    MetricSpec("rssi", Kind.STATUS, "", "Received signal strength", "dB[mW]", -150, 20),
)

METRICS: Final = MappingProxyType({m.name: m for m in _METRIC_LIST})

# LOINC panel codes for a whole reading (FHIR Observation.code), per kind.
PANEL_LOINC: Final = MappingProxyType(
    {
        Kind.BP: ("85354-9", "Blood pressure panel with all children optional"),
        Kind.GLUCOSE: ("15074-8", "Glucose [Moles/volume] in Blood"),
        Kind.HR: ("8867-4", "Heart rate"),
        Kind.SPO2: ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        Kind.ECG: ("131328", "MDC_ECG_ELEC_POTL"),
        Kind.WEIGHT: ("29463-7", "Body weight"),
    }
)

# Conversion factors into canonical units, applied once at decode.
MMHG_PER_KPA: Final = 7.50062
# Glucose molar mass 180.16 g/mol: 1 mmol/L = 18.016 mg/dL.
MGDL_PER_MMOLL: Final = 18.016

# Expected reporting interval per kind, used for `device.stale` (seconds).
EXPECTED_INTERVAL_S: Final = MappingProxyType(
    {
        Kind.BP: 36 * 3600.0,
        Kind.GLUCOSE: 15 * 60.0,
        Kind.ECG: 60.0,
        Kind.HR: 15 * 60.0,
        Kind.SPO2: 36 * 3600.0,
        Kind.STATUS: 6 * 3600.0,
        Kind.WEIGHT: 7 * 24 * 3600.0,
    }
)


def metric(name: str) -> MetricSpec:
    """Look up a metric spec by name (KeyError for an unknown one)."""
    return METRICS[name]
