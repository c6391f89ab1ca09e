"""One declarative table of reading kinds: metrics, codes, units, limits and report intervals.

Every codec, check and detector reads these specs; nothing else in the project spells a LOINC code,
a unit, a plausibility range, an attribute vocabulary or a sampling limit. Every unit conversion
happens once, at decode, into the canonical unit named here. The plausibility ranges reject values
no living adult can have (or no device can measure), not abnormal ones: an abnormal value is exactly
what the gateway exists to see.

Sources for the limits:
- BP: ISO 81060-2:2018 requires automated sphygmomanometers to measure at least 60-260 mmHg systolic
  and 40-130 mmHg diastolic; we accept 40-300 / 20-200 to keep extreme but real crises.
- Glucose: home glucometers under ISO 15197:2013 report 1.1-33.3 mmol/L (20-600 mg/dL); CGMs
  report 2.2-22.2 mmol/L (40-400 mg/dL). We accept 0.5-45 mmol/L.
- Heart rate 20-300 /min; SpO2 50-100 %.
- ECG sampling 125-1000 Hz: the analyser's filters and QRS detector are designed and tested over
  that range (wearable patches sample at 125-512 Hz, the public records at 128-360 Hz); below
  125 Hz a QRS complex spans too few samples, above 1000 Hz a one-minute chunk outgrows a message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from devices.units import (
    ANGLE_DEG,
    FRACTION,
    GLUCOSE,
    LENGTH_M,
    MASS,
    MGDL_PER_MMOLL,
    MMHG_PER_KPA,
    PERCENT,
    POWER_DBM,
    PRESSURE,
    RATE,
    Units,
)

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:oid:2.16.840.1.113883.6.24"  # ISO/IEEE 11073-10101 nomenclature


class Kind(enum.StrEnum):
    """The `kind` segment of the topic `hm/v1/{tenant}/{device_id}/{kind}`."""

    BP = "bp"
    GLUCOSE = "glucose"
    ECG = "ecg"
    HR = "hr"
    SPO2 = "spo2"
    STATUS = "status"
    WEIGHT = "weight"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class Code:
    """A code for a metric or a kind. `attrs` are the reading attributes the code implies when it
    is decoded (e.g. a CGM glucose code implies ``source=cgm``) and selects on export; `export`
    says whether the gateway writes this code (else it is accepted on input only)."""

    code: str
    display: str
    system: str = LOINC
    attrs: tuple[tuple[str, str], ...] = ()
    export: bool = True

    def matches(self, attrs: Mapping[str, object]) -> bool:
        return all(attrs.get(k, v) == v for k, v in self.attrs)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A numeric metric carried by a reading, in its canonical UCUM unit.

    `codes[0]` is the metric's primary code; `units` maps every accepted spelling to a converter
    into `ucum`; `low`..`high` is the plausibility range.
    """

    name: str
    kind: Kind
    display: str
    ucum: str
    low: float
    high: float
    units: Units
    codes: tuple[Code, ...] = ()

    @property
    def loinc(self) -> str:
        return self.codes[0].code if self.codes else ""

    def export_code(self, attrs: Mapping[str, object]) -> Code | None:
        """The code a reading with these attributes is exported with."""
        return next((c for c in self.codes if c.export and c.matches(attrs)), None)


@dataclass(frozen=True, slots=True)
class Sampling:
    """Limits on a waveform chunk: sampling rate range and samples per message."""

    fs_min: float
    fs_max: float
    max_samples: int

    def accepts(self, fs: float) -> bool:
        return self.fs_min <= fs <= self.fs_max


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Everything the gateway knows about one kind of reading.

    - `metrics`: names of the numeric values it carries (see `METRICS`).
    - `panel`: the code for a whole reading with several components (FHIR Observation.code).
    - `interval_s`: expected reporting interval, for `device.stale` (None: not periodic).
    - `vocab`: closed vocabularies of string attributes (attribute -> allowed values).
    - `sampling`: waveform limits (ECG only).
    """

    kind: Kind
    metrics: tuple[str, ...] = ()
    panel: Code | None = None
    interval_s: float | None = None
    vocab: Mapping[str, frozenset[str]] = field(default_factory=dict)
    sampling: Sampling | None = None


_HR_CODE = Code("8867-4", "Heart rate")
_FINGER = (("source", "fingerstick"),)
_CGM = (("source", "cgm"),)

_METRIC_LIST: Final = (
    MetricSpec(
        "systolic",
        Kind.BP,
        "Systolic blood pressure",
        "mm[Hg]",
        40,
        300,
        PRESSURE,
        (Code("8480-6", "Systolic blood pressure"),),
    ),
    MetricSpec(
        "diastolic",
        Kind.BP,
        "Diastolic blood pressure",
        "mm[Hg]",
        20,
        200,
        PRESSURE,
        (Code("8462-4", "Diastolic blood pressure"),),
    ),
    MetricSpec("pulse", Kind.BP, "Heart rate", "/min", 20, 300, RATE, (_HR_CODE,)),
    MetricSpec(
        "glucose",
        Kind.GLUCOSE,
        "Glucose [Moles/volume] in Blood",
        "mmol/L",
        0.5,
        45,
        GLUCOSE,
        (
            Code("15074-8", "Glucose [Moles/volume] in Blood", attrs=_FINGER),
            Code("2339-0", "Glucose [Mass/volume] in Blood", attrs=_FINGER, export=False),
            Code(
                "105272-9",
                "Glucose [Moles/volume] in Interstitial fluid by Continuous glucose monitor",
                attrs=_CGM,
            ),
            Code(
                "99504-3",
                "Glucose [Mass/volume] in Interstitial fluid during Continuous glucose monitoring",
                attrs=_CGM,
                export=False,
            ),
        ),
    ),
    MetricSpec("hr", Kind.HR, "Heart rate", "/min", 20, 300, RATE, (_HR_CODE,)),
    MetricSpec(
        "spo2",
        Kind.SPO2,
        "Oxygen saturation by pulse oximetry",
        "%",
        50,
        100,
        PERCENT,
        (
            Code("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            Code("2708-6", "Oxygen saturation in Arterial blood", export=False),
        ),
    ),
    MetricSpec(
        "weight", Kind.WEIGHT, "Body weight", "kg", 20, 300, MASS, (Code("29463-7", "Body weight"),)
    ),
    MetricSpec("battery", Kind.STATUS, "Battery level", "1", 0, 1, FRACTION),
    MetricSpec("rssi", Kind.STATUS, "Received signal strength", "dB[mW]", -150, 20, POWER_DBM),
    # An emergency event's optional detection confidence and position (WGS 84).
    MetricSpec("confidence", Kind.EVENT, "Detection confidence", "1", 0, 1, FRACTION),
    MetricSpec("lat", Kind.EVENT, "Latitude", "deg", -90, 90, ANGLE_DEG),
    MetricSpec("lon", Kind.EVENT, "Longitude", "deg", -180, 180, ANGLE_DEG),
    MetricSpec("accuracy_m", Kind.EVENT, "Position accuracy", "m", 0, 100_000, LENGTH_M),
)

METRICS: Final = MappingProxyType({m.name: m for m in _METRIC_LIST})

# Event types of the `event` kind: social-alarm triggers and their follow-ups, and the home
# activity kit's sightings (`motion`: a passive-infrared sensor saw someone move; `door`: the
# front door opened or closed), which only say the elder is up and about.
EVENT_TYPES: Final = frozenset({"sos", "fall", "cancel", "help_arrived", "motion", "door"})

_KIND_LIST: Final = (
    KindSpec(
        Kind.BP,
        ("systolic", "diastolic", "pulse"),
        panel=Code("85354-9", "Blood pressure panel with all children optional"),
        interval_s=36 * 3600.0,
    ),
    KindSpec(
        Kind.GLUCOSE,
        ("glucose",),
        interval_s=15 * 60.0,
        vocab=MappingProxyType(
            {
                "source": frozenset({"fingerstick", "cgm"}),
                "context": frozenset({"fasting", "postprandial", "bedtime", "random"}),
            }
        ),
    ),
    KindSpec(
        Kind.ECG,
        panel=Code("131328", "MDC_ECG_ELEC_POTL", system=MDC),
        interval_s=60.0,
        sampling=Sampling(125.0, 1000.0, 60 * 1000),  # one minute at 1 kHz per chunk
    ),
    KindSpec(Kind.HR, ("hr",), interval_s=15 * 60.0),
    KindSpec(Kind.SPO2, ("spo2",), interval_s=36 * 3600.0),
    KindSpec(Kind.STATUS, ("battery", "rssi"), interval_s=6 * 3600.0),
    KindSpec(Kind.WEIGHT, ("weight",), interval_s=7 * 24 * 3600.0),
    KindSpec(
        Kind.EVENT,
        ("confidence", "lat", "lon", "accuracy_m"),
        vocab=MappingProxyType({"type": EVENT_TYPES}),
    ),
)

KINDS: Final = MappingProxyType({k.kind: k for k in _KIND_LIST})


def _ecg_sampling() -> Sampling:
    sampling = KINDS[Kind.ECG].sampling
    assert sampling is not None
    return sampling


ECG_SAMPLING: Final = _ecg_sampling()

# Expected reporting interval per periodic kind, used for `device.stale` (seconds): a view of
# `KINDS`, not a second table.
EXPECTED_INTERVAL_S: Final = MappingProxyType(
    {k.kind: k.interval_s for k in _KIND_LIST if k.interval_s is not None}
)


def _code_index() -> dict[str, tuple[Kind, str | None, Code]]:
    """Every code -> (kind, metric or None for a panel, code). A metric of a kind with a panel is
    a component (e.g. pulse in a BP panel) and is left to the panel, so each code names one kind."""
    out: dict[str, tuple[Kind, str | None, Code]] = {}
    for ks in _KIND_LIST:
        if ks.panel is not None:
            out[ks.panel.code] = (ks.kind, None, ks.panel)
            continue
        for name in ks.metrics:
            for c in METRICS[name].codes:
                out.setdefault(c.code, (ks.kind, name, c))
    return out


CODE_INDEX: Final = MappingProxyType(_code_index())


def metric(name: str) -> MetricSpec:
    """Look up a metric spec by name (KeyError for an unknown one)."""
    return METRICS[name]


def kind_spec(kind: Kind) -> KindSpec:
    return KINDS[kind]


def kind_for_code(code: str) -> Kind | None:
    """The kind a reading coded `code` (LOINC or MDC) has, if the gateway knows the code."""
    hit = CODE_INDEX.get(code)
    return hit[0] if hit is not None else None


def metrics_of(kind: Kind) -> tuple[str, ...]:
    return KINDS[kind].metrics


__all__ = [
    "CODE_INDEX",
    "ECG_SAMPLING",
    "EVENT_TYPES",
    "EXPECTED_INTERVAL_S",
    "KINDS",
    "LOINC",
    "MDC",
    "METRICS",
    "MGDL_PER_MMOLL",
    "MMHG_PER_KPA",
    "Code",
    "Kind",
    "KindSpec",
    "MetricSpec",
    "Sampling",
    "kind_for_code",
    "kind_spec",
    "metric",
    "metrics_of",
]
