"""Routes readings to each patient's detectors; creates detector state on first sight."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from alerts.detectors import DETECTORS, Detector, DetectorFactory, PatientContext
from alerts.model import AlertCandidate
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.kinds import Kind
from devices.model import Reading


class DetectionEngine:
    """Per-patient detector instances over a registered set of factories.

    Late readings (flagged ``late`` at ingest) are stored by the gateway but never reach the
    detectors: an old value must not raise an alert as if it were current.
    """

    def __init__(
        self,
        enabled: Iterable[str] | None = None,
        targets_for: Callable[[str], Targets] | None = None,
        factories: Mapping[str, DetectorFactory] = DETECTORS,
    ) -> None:
        names = list(factories) if enabled is None else list(enabled)
        unknown = [n for n in names if n not in factories]
        if unknown:
            raise ValueError(f"unknown detector(s): {', '.join(unknown)}")
        self._factories = [factories[n] for n in names]
        self._targets_for = targets_for or (lambda _pid: DEFAULT_TARGETS)
        self._patients: dict[str, dict[Kind, list[Detector]]] = {}

    def _detectors(self, patient_id: str) -> dict[Kind, list[Detector]]:
        routes = self._patients.get(patient_id)
        if routes is None:
            ctx = PatientContext(patient_id, self._targets_for(patient_id))
            routes = {}
            for factory in self._factories:
                det = factory(ctx)
                for kind in det.kinds:
                    routes.setdefault(kind, []).append(det)
            self._patients[patient_id] = routes
        return routes

    def reset_patient(self, patient_id: str) -> None:
        """Forget a patient's detector state (e.g. after the care team changed targets)."""
        self._patients.pop(patient_id, None)

    def process(self, reading: Reading) -> list[AlertCandidate]:
        if reading.patient_id is None or "late" in reading.flags:
            return []
        out: list[AlertCandidate] = []
        for det in self._detectors(reading.patient_id).get(reading.kind, ()):
            out.extend(det.update(reading))
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        out: list[AlertCandidate] = []
        for routes in self._patients.values():
            seen: set[int] = set()
            for dets in routes.values():
                for det in dets:
                    if id(det) not in seen:
                        seen.add(id(det))
                        out.extend(det.tick(now))
        return out
