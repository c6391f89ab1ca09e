"""Care-team targets held in memory by patient: what the detectors and the urgent lane read, kept
in step with the store by the API's target changes."""

from __future__ import annotations

from alerts.engine import DetectionEngine
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.model import PatientKey, Reading
from gateway.flow.lanes import is_urgent


class TargetBook:
    """Care-team targets by patient (tenant and id); a change retargets the detectors that
    follow the book."""

    def __init__(self) -> None:
        self.targets: dict[PatientKey, Targets] = {}
        self.engines: list[DetectionEngine] = []

    def targets_for(self, patient: PatientKey) -> Targets:
        return self.targets.get(patient, DEFAULT_TARGETS)

    def urgent(self, r: Reading) -> bool:
        """`is_urgent` at the reading's patient's targets (bound readings only). Asked once a
        reading on the ingest path: no patient key is made while no patient has own targets."""
        if r.patient_id is None:
            return False
        if not self.targets:
            return is_urgent(r)
        return is_urgent(r, self.targets.get(PatientKey(r.tenant, r.patient_id), DEFAULT_TARGETS))

    async def set_targets(self, patient: PatientKey, targets: Targets) -> None:
        self.targets[patient] = targets
        for engine in self.engines:
            engine.retarget(patient)  # keeps open episodes so they still resolve
