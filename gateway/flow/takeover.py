"""A referral or a dispatch takes over the elder's other open alerts.

When a clinician refers an elder to hospital, or sends help to an emergency call, the elder's
other open alerts are the same person's problem, now in someone's hands: left alone they go on
escalating and page the next tier about an elder already on the way to hospital. The clinician
chooses which of them the action takes over; each is acknowledged under the clinician with a
comment naming the action and the alert it came from, so its escalation stops and the audit
trail says why (one audit row per alert taken over, like any acknowledgement).

Only open, unhandled alerts of the same elder and tenant can be taken over; another elder's
alert or a resolved one is refused before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.model import HANDLED, Alert
from gateway.actor import Actor
from gateway.errors import InvalidError
from gateway.flow.actions import ActionPath

_FIELD = ("take_over",)

# What took the alerts over, in both languages of the audit trail's comment.
_HOW = {
    "referral": ("the referral", "转诊"),
    "dispatch": ("the help sent", "派出救援"),
}


def takeover_comment(how: str, lead: Alert, detail: str = "") -> str:
    """The comment each alert taken over carries (English · Chinese), e.g. "Taken over by the
    referral R-1 of alert A-1 · 由告警 A-1 的转诊 R-1 接管"."""
    en, zh = _HOW[how]
    extra = f" {detail}" if detail else ""
    return (
        f"Taken over by {en}{extra} of alert {lead.alert_id}"
        f" · 由告警 {lead.alert_id} 的{zh}{extra} 接管"
    )


async def check_takeover(
    actions: ActionPath, actor: Actor, lead: Alert, alert_ids: Sequence[str]
) -> list[Alert]:
    """The alerts to take over, each once; refused (`InvalidError`) unless each is another
    open alert of `lead`'s elder (another tenant's alert is not found)."""
    chosen: list[Alert] = []
    for alert_id in dict.fromkeys(alert_ids):
        a = await actions.alert(alert_id, actor.tenant)
        if alert_id == lead.alert_id or a.patient_id != lead.patient_id:
            raise InvalidError(f"alert {alert_id} is not another alert of this elder", _FIELD)
        if not a.active:
            raise InvalidError(f"alert {alert_id} is resolved", _FIELD)
        chosen.append(a)
    return chosen


async def take_over(
    actions: ActionPath,
    actor: Actor,
    lead: Alert,
    alert_ids: Sequence[str],
    how: str,
    detail: str = "",
) -> list[Alert]:
    """Acknowledge each of `alert_ids` (open alerts of `lead`'s elder) as taken over by `how`
    (`referral` or `dispatch`) of `lead`; returns them as they are now."""
    chosen = await check_takeover(actions, actor, lead, alert_ids)
    comment = takeover_comment(how, lead, detail)
    return [
        await actions.acknowledge(actor, a.alert_id, comment) if a.state not in HANDLED else a
        for a in chosen
    ]
