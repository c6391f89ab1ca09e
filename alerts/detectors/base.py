"""The detector contract: small per-patient state, readings in, candidates out, time injected.

A detector instance belongs to one patient. `update` sees each current (not late) reading of the
kinds it declares, in arrival order, and judges it on the reading's own clock. `tick` lets timers
(confirmations, staleness) fire on the gateway's clock. Neither does I/O nor notifies anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from alerts.model import AlertCandidate
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.kinds import Kind
from devices.model import Reading


@dataclass(frozen=True, slots=True)
class PatientContext:
    """What a detector knows about its patient."""

    patient_id: str
    targets: Targets = DEFAULT_TARGETS


class Detector(Protocol):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]]

    def update(self, reading: Reading) -> list[AlertCandidate]: ...

    def tick(self, now: datetime) -> list[AlertCandidate]: ...


DetectorFactory = Callable[[PatientContext], Detector]
