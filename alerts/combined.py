"""One episode, one escalation timer: a combined finding and the alerts it is made of.

A combined finding (`cv.hypoglycaemia_with_tachycardia`, `cv.crisis_with_arrhythmia`) is raised by
its own detector beside the single-signal alerts it combines (`glucose.low`, `ecg.tachycardia`,
...): the patient has one episode, but the desk held two alerts, each with its own escalation
timer, paging the same people twice. While a combined alert is open, the alerts of its
component codes (`CodeSpec.combines`) for the same patient are *covered* by it: their timers
are stopped and their events notify nobody, so the episode escalates once, under the combined
alert (the one with the highest priority). When the combined alert resolves while a component
is still open, the component's own timer is armed again and it escalates on its own.

Pure: `EpisodeCover` routes a desk's events through the desk's own escalator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from alerts.codes import CODES
from alerts.escalator import Escalator
from alerts.model import Alert, AlertEvent


def combines(combined: Alert, alert: Alert) -> bool:
    """Whether `alert` is a component of the combined `combined` (same patient, open)."""
    spec = CODES.get(combined.code)
    return (
        spec is not None
        and combined.alert_id != alert.alert_id
        and combined.patient_id == alert.patient_id
        and combined.active
        and alert.code in spec.combines
    )


def covering(active: Iterable[Alert], alert: Alert) -> Alert | None:
    """The open combined alert `alert` is part of, or None (then it escalates on its own)."""
    return next((c for c in active if combines(c, alert)), None)


class EpisodeCover:
    """Keeps one timer per episode: `after(event)` follows every event the desk records."""

    def __init__(self, escalator: Escalator, active: Callable[[str], list[Alert]]) -> None:
        self.escalator = escalator
        self.active = active  # a tenant's active alerts

    def after(self, event: AlertEvent) -> AlertEvent:
        alert = event.alert
        active = self.active(alert.tenant)
        spec = CODES.get(alert.code)
        if spec is not None and spec.combines:
            mine = [a for a in active if a.patient_id == alert.patient_id]
            for part in (a for a in mine if a.code in spec.combines):
                if alert.active:
                    self.escalator.forget(part.alert_id)
                elif covering(active, part) is None:
                    self.escalator.rearm(part)  # the combination ended before its part
            return event
        if alert.active and covering(active, alert) is not None:
            self.escalator.forget(alert.alert_id)
            return replace(event, escalation=None)
        return event

    def load(self, alerts: Iterable[Alert]) -> None:
        """After a restart: covered alerts keep no timer."""
        alerts = list(alerts)
        for a in alerts:
            if covering(alerts, a) is not None:
                self.escalator.forget(a.alert_id)
