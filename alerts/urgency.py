"""Which readings go first: the urgent lane of detection.

A batch's detection runs in two lanes. The *urgent* lane holds every reading of each patient who
has an urgent reading in the batch (an emergency call or fall, a blood pressure at crisis level,
an urgent-low glucose, a heart rate or SpO2 far out of range), in arrival order; it is detected
first, so its alerts are stored and sent before anything else of the batch is analysed. The
*bulk* lane (everyone else: routine vitals, ECG chunks) follows, a slice at a time. Urgency is
judged at the patient's own targets (`DetectionEngine.lanes`).

Detectors keep their state per patient, and a patient's readings all go to one lane in arrival
order, so each detector sees exactly the sequence it would have seen without lanes: the lanes
change when an alert is raised, never which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alerts.targets import DEFAULT_TARGETS, Targets
from devices.kinds import Kind
from devices.model import Reading

# Far out of range whatever the patient's targets (the targets' crisis limits apply as well).
SPO2_URGENT = 88.0
HR_URGENT_LOW = 40.0
HR_URGENT_HIGH = 150.0
URGENT_EVENTS = frozenset({"sos", "fall"})
# The kinds whose urgency depends on the patient's targets (the others' never does).
TARGETED_KINDS = frozenset({Kind.BP, Kind.GLUCOSE, Kind.HR})


def is_urgent(r: Reading, targets: Targets = DEFAULT_TARGETS) -> bool:
    """A reading that can raise a high-priority or emergency alert on its own.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 12, 4, tzinfo=UTC)
    >>> bp = Reading("t", "cuff", Kind.BP, 1, t, t, "p", {"systolic": 196.0, "diastolic": 124.0})
    >>> is_urgent(bp), is_urgent(Reading("t", "cuff", Kind.BP, 2, t, t, "p", {"systolic": 130.0}))
    (True, False)
    """
    v = r.values
    if r.kind is Kind.EVENT:
        return r.attrs.get("type") in URGENT_EVENTS
    if r.kind is Kind.BP:
        return (
            v.get("systolic", 0.0) > targets.crisis_systolic
            or v.get("diastolic", 0.0) > targets.crisis_diastolic
        )
    if r.kind is Kind.GLUCOSE:
        return v.get("glucose", 99.0) < targets.glucose_urgent_low
    if r.kind is Kind.HR:
        hr = v.get("hr", 70.0)
        return hr < min(HR_URGENT_LOW, targets.hr_low) or hr > max(HR_URGENT_HIGH, targets.hr_high)
    if r.kind is Kind.SPO2:
        return v.get("spo2", 100.0) < SPO2_URGENT
    return False


def split_lanes(
    readings: Sequence[Reading], urgent: Callable[[Reading], bool]
) -> tuple[list[Reading], list[Reading]]:
    """(urgent lane, bulk lane), each in arrival order; a patient's readings stay together
    (a patient is its tenant and id: another tenant's same id is not pulled along)."""
    first = {(r.tenant, r.patient_id) for r in readings if r.patient_id is not None and urgent(r)}
    if not first:
        return [], list(readings)
    lane: list[Reading] = []
    bulk: list[Reading] = []
    for r in readings:
        (lane if (r.tenant, r.patient_id) in first else bulk).append(r)
    return lane, bulk
