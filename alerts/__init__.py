"""Detectors, ECG analysis, alert lifecycle and policies. Pure: no I/O. Imports only `devices`."""

from alerts.actor import Actor, Role
from alerts.codes import CODES, CodeSpec, render
from alerts.desk import AlertDesk
from alerts.detectors import DETECTORS, Detector, PatientContext
from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import (
    Action,
    Alert,
    AlertCandidate,
    AlertEvent,
    EscalationDetail,
    EventType,
    Priority,
    State,
)
from alerts.outcome import Act, ActionRefusedError, ActionResult, DeskResult, TimerChanges
from alerts.serialize import alert_to_json, event_to_json
from alerts.targets import DEFAULT_TARGETS, Targets

__all__ = [
    "CODES",
    "DEFAULT_TARGETS",
    "DETECTORS",
    "Act",
    "Action",
    "ActionRefusedError",
    "ActionResult",
    "Actor",
    "Alert",
    "AlertBook",
    "AlertCandidate",
    "AlertDesk",
    "AlertEvent",
    "CodeSpec",
    "DeskResult",
    "DetectionEngine",
    "Detector",
    "EscalationDetail",
    "EventType",
    "PatientContext",
    "Priority",
    "Role",
    "State",
    "Targets",
    "TimerChanges",
    "alert_to_json",
    "event_to_json",
    "render",
]
