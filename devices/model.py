"""Domain values: a reading, an ECG chunk, a parsed topic; frozen, slotted, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from devices.errors import DecodeError, RejectReason
from devices.kinds import ECG_SAMPLING, Kind

TOPIC_PREFIX = "hm/v1/"
DEADLETTER = "deadletter"

AttrValue = str | bool | float | int


@dataclass(frozen=True, slots=True, order=True)
class PatientKey:
    """Who a patient is: the id is the tenant's own, so two tenants may both have "p-001".

    Every in-memory map of per-patient state (detectors, flags, targets) and every stored lookup
    uses both parts; the patient id alone names no one.
    """

    tenant: str
    patient_id: str

    def __post_init__(self) -> None:
        if not self.tenant or not self.patient_id:
            raise ValueError("a patient key needs a tenant and a patient id")

    def __str__(self) -> str:
        return f"{self.tenant}/{self.patient_id}"


@dataclass(frozen=True, slots=True)
class Topic:
    """`hm/v1/{tenant}/{device_id}/{kind}`, parsed."""

    tenant: str
    device_id: str
    kind: str

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) != 5 or parts[0] != "hm" or parts[1] != "v1" or not all(parts[2:]):
            raise DecodeError(RejectReason.TOPIC, f"not a device topic: {topic!r}")
        return cls(parts[2], parts[3], parts[4])

    def __str__(self) -> str:
        return f"{TOPIC_PREFIX}{self.tenant}/{self.device_id}/{self.kind}"


def deadletter_topic(tenant: str) -> str:
    return f"{TOPIC_PREFIX}{tenant}/{DEADLETTER}"


@dataclass(frozen=True, slots=True, eq=False)
class EcgChunk:
    """A run of ECG samples in ADC units; `mv = (samples - baseline) / gain`."""

    fs: float
    lead: str
    gain: float
    baseline: int
    samples: npt.NDArray[np.int32]

    def __post_init__(self) -> None:
        lim = ECG_SAMPLING
        if not lim.accepts(self.fs):
            raise DecodeError(
                RejectReason.ECG_FORMAT,
                f"ecg: fs {self.fs:g} Hz outside {lim.fs_min:g}..{lim.fs_max:g}",
            )
        if not self.gain > 0:
            raise DecodeError(RejectReason.ECG_FORMAT, "gain must be positive")
        if self.samples.ndim != 1 or self.samples.size == 0:
            raise DecodeError(RejectReason.ECG_FORMAT, "samples must be a non-empty 1-D array")
        self.samples.setflags(write=False)

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.samples.size / self.fs)

    def millivolts(self) -> npt.NDArray[np.float64]:
        return (self.samples.astype(np.float64) - self.baseline) / self.gain


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement from one device, in canonical units (see `devices.kinds.METRICS`).

    `ts` is the device's measurement time (first sample for ECG), `received_at` the gateway's clock.
    `patient_id` is whom the registry bound the reading to (None until resolved).
    `flags` carries non-fatal findings from validation, e.g. ``late`` or ``clock_skew``.
    """

    tenant: str
    device_id: str
    kind: Kind
    seq: int
    ts: datetime
    received_at: datetime
    patient_id: str | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)
    ecg: EcgChunk | None = None
    flags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None or self.received_at.tzinfo is None:
            raise ValueError("reading timestamps must be timezone-aware")
        if (self.kind is Kind.ECG) != (self.ecg is not None):
            raise ValueError("an ECG chunk goes with kind 'ecg' and only with it")

    @property
    def end_ts(self) -> datetime:
        """Time just after the last sample (ECG) or the measurement time."""
        return self.ts + self.ecg.duration if self.ecg is not None else self.ts

    def evolve(
        self,
        patient_id: str | None,
        flags: frozenset[str] | None = None,
        attrs: Mapping[str, AttrValue] | None = None,
    ) -> Reading:
        """A copy bound to `patient_id` (optionally with new `flags`/`attrs`);
        `dataclasses.replace` is 5x slower and this runs once per message on the hot path."""
        return Reading(
            self.tenant,
            self.device_id,
            self.kind,
            self.seq,
            self.ts,
            self.received_at,
            patient_id,
            self.values,
            self.attrs if attrs is None else attrs,
            self.ecg,
            self.flags if flags is None else flags,
        )

    @property
    def patient(self) -> PatientKey | None:
        """The patient the reading is bound to, with its tenant (None until resolved)."""
        return None if self.patient_id is None else PatientKey(self.tenant, self.patient_id)

    @property
    def key(self) -> tuple[str, int]:
        """Identity for de-duplication: a device never reuses a sequence number."""
        return (self.device_id, self.seq)


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC."""
    return dt.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
