"""Care-team targets held in memory by patient: what the detection engines read (the detectors and
the urgent lane), kept in step with the store by the API's target changes."""

from __future__ import annotations

from alerts.engine import DetectionEngine
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.model import PatientKey


class TargetBook:
    """Care-team targets by patient (tenant and id); a change retargets the detectors that
    follow the book."""

    def __init__(self) -> None:
        self.targets: dict[PatientKey, Targets] = {}
        self.engines: list[DetectionEngine] = []

    def targets_for(self, patient: PatientKey) -> Targets:
        return self.targets.get(patient, DEFAULT_TARGETS)

    async def set_targets(self, patient: PatientKey, targets: Targets) -> None:
        self.targets[patient] = targets
        for engine in self.engines:
            engine.retarget(patient)  # keeps open episodes so they still resolve
