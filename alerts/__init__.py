"""Detectors, ECG analysis, alert lifecycle and policies. Pure: no I/O. Imports only `devices`."""

from alerts.codes import CODES, CodeSpec, render
from alerts.detectors import DETECTORS, Detector, PatientContext
from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, EventType, Priority, State
from alerts.serialize import alert_to_json, event_to_json
from alerts.targets import DEFAULT_TARGETS, Targets

__all__ = [
    "CODES",
    "DEFAULT_TARGETS",
    "DETECTORS",
    "Action",
    "Alert",
    "AlertBook",
    "AlertCandidate",
    "AlertEvent",
    "CodeSpec",
    "DetectionEngine",
    "Detector",
    "EventType",
    "PatientContext",
    "Priority",
    "State",
    "Targets",
    "alert_to_json",
    "event_to_json",
    "render",
]
