"""The detector contract: small per-patient state, readings in, candidates out, time injected.

A detector instance belongs to one patient. `update` sees each current (not late, not stale)
reading of the kinds it declares, in arrival order, and judges it on the reading's own clock
(`reading.ts`), never the wall clock. `tick(now)` lets timers (repeat-measurement deadlines,
expiring forecasts) fire on the gateway's or replay's clock. Neither does I/O nor notifies anyone.

Warm-up is explicit: every detector documents what it needs before it may alert (`warm_up`, a
human-readable statement shown by the contract tests), and trend detectors keep their buffers per
(patient, signal) and drop readings that arrive out of order.

Cross-signal detectors (`cv.*`) additionally implement `Observer`: the engine hands them every
candidate the other detectors produced for the same patient (`consumes` filters by code), so they
can combine, e.g., a confirmed hypertensive crisis with AF from the ECG analyser.

A detector whose per-reading numeric work is cheaper over many readings at once implements
`Prepares`: before a batch goes through `update`, the engine hands each such detector class every
(instance, readings) pair of the batch in one call, and the class computes in one numpy block what
those updates are about to need. What it keeps is a cache keyed by the detector's own state, so an
`update` that finds no entry (or a different state than foreseen) computes as before: the output
never depends on whether the batch was prepared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol, runtime_checkable

from alerts.model import AlertCandidate, Priority
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.kinds import MGDL_PER_MMOLL, Kind
from devices.model import Reading


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Deployment-wide detector parameters (gateway settings), as opposed to per-patient targets.

    - `bp_repeat_window`: how long a repeat measurement is awaited after a suspect crisis reading
      before the crisis is escalated anyway (2017 ACC/AHA: repeat after >= 1-5 min seated rest).
    - `cv_window`: how close in time two conditions must be to count as simultaneous.
    - `cv_priorities`: priority per `cv.*` code (both default to high: immediate referral).
    - `forecast_max_gap`: a CGM gap longer than this restarts the trend buffer (warm-up again).
    - `fall_cancel_window`: a wearer's "I'm fine" this soon after a fall alarm (device time)
      resolves it as cancelled. Watches already count down about a minute before they send a
      fall; two more minutes cover a wearer who needed time to get up, while an operator who
      acknowledged within seconds is already calling.
    - `inactivity_floor`, `inactivity_ceiling`: bounds of the learned quiet period of an elder who
      lives alone, in waking hours (see `alerts.detectors.inactivity` for why 2 h and 20 h);
      `inactivity_night_alarm`: count the elder's usual night too (off by default);
      `inactivity_tail`: the share of the elder's ordinary days whose longest quiet stretch is
      allowed to reach the limit (the detector's sensitivity: smaller waits longer and calls
      less often; chosen by `make eval-inactivity`).
    - `local_utc_offset`: the deployment's local clock (China Standard Time by default), where a
      day starts and what counts as night.
    """

    bp_repeat_window: timedelta = timedelta(minutes=15)
    cv_window: timedelta = timedelta(minutes=30)
    cv_priorities: dict[str, Priority] = field(
        default_factory=lambda: {
            "cv.crisis_with_arrhythmia": Priority.HIGH,
            "cv.hypoglycaemia_with_tachycardia": Priority.HIGH,
        }
    )
    forecast_max_gap: timedelta = timedelta(minutes=16)
    fall_cancel_window: timedelta = timedelta(minutes=2)
    inactivity_floor: timedelta = timedelta(hours=2)
    inactivity_ceiling: timedelta = timedelta(hours=20)
    inactivity_night_alarm: bool = False
    inactivity_tail: float = 0.005
    local_utc_offset: timedelta = timedelta(hours=8)

    def __post_init__(self) -> None:
        for name in ("bp_repeat_window", "cv_window", "forecast_max_gap", "fall_cancel_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        if not timedelta(0) < self.inactivity_floor <= self.inactivity_ceiling:
            raise ValueError("inactivity limits must satisfy 0 < floor <= ceiling")
        if not 0 < self.inactivity_tail < 1:
            raise ValueError("inactivity_tail must be a share of days, between 0 and 1")


DEFAULT_SETTINGS = DetectorSettings()


@dataclass(frozen=True, slots=True)
class PatientContext:
    """What a detector knows about its patient; `flags` are care context such as
    ``lives_alone`` (from the patient record)."""

    patient_id: str
    targets: Targets = DEFAULT_TARGETS
    settings: DetectorSettings = DEFAULT_SETTINGS
    flags: frozenset[str] = frozenset()


class Detector(Protocol):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]]

    def update(self, reading: Reading) -> list[AlertCandidate]: ...

    def tick(self, now: datetime) -> list[AlertCandidate]: ...


@runtime_checkable
class Observer(Protocol):
    """A detector that also consumes other detectors' candidates for the same patient."""

    consumes: ClassVar[frozenset[str]]

    def observe(self, candidate: AlertCandidate) -> list[AlertCandidate]: ...


class Prepares(Protocol):
    """A detector class that precomputes a batch's numeric work in one block (see above)."""

    @classmethod
    def prepare(cls, work: Sequence[tuple[Detector, Sequence[Reading]]]) -> None: ...


DetectorFactory = Callable[[PatientContext], Detector]


def _from_mgdl(g: float) -> int | None:
    """The integer mg/dL a value was sent as, if it was sent in mg/dL (exact conversion)."""
    mg = g * MGDL_PER_MMOLL
    return round(mg) if abs(mg - round(mg)) < 1e-6 else None


def glucose_below(g: float, limit: float) -> bool:
    """`g < limit`, honouring the guideline's cut-point in the unit the device reported.

    ADA publishes each level in both units ("< 54 mg/dL (3.0 mmol/L)", "< 70 mg/dL (3.9 mmol/L)")
    but 70 mg/dL is 3.885 mmol/L. Readings arrive in mmol/L (converted once at decode); a value
    that is an exact whole mg/dL was sent in mg/dL and is compared with the limit rounded to whole
    mg/dL, so 70 mg/dL is not "< 70 mg/dL" while 3.85 mmol/L is "< 3.9 mmol/L".
    """
    mg = _from_mgdl(g)
    return mg < round(limit * MGDL_PER_MMOLL) if mg is not None else g < limit


def glucose_above(g: float, limit: float) -> bool:
    """`g > limit` with the same unit rule as `glucose_below` (250 mg/dL is not > 250 mg/dL)."""
    mg = _from_mgdl(g)
    return mg > round(limit * MGDL_PER_MMOLL) if mg is not None else g > limit


def reading_ref(reading: Reading) -> dict[str, object]:
    """A JSON-serialisable pointer to a reading, for alert evidence."""
    return {
        "device_id": reading.device_id,
        "seq": reading.seq,
        "ts": reading.ts.isoformat().replace("+00:00", "Z"),
        **{k: round(v, 2) for k, v in reading.values.items()},
    }
