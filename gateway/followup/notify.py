"""Telling the team lead of an overdue follow-up: one outbox entry per escalation (channel
`followup`), written with the escalation, delivered to the lead's own contacts (SMS, then
e-mail) through the existing personal channels, in the lead's language first and both languages
in one message; retried like every outbox entry, and a lead who cannot be reached three times
running raises the technical alert `notify.channel_failed` (channel `followup`) for the elder."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final

from alerts.model import AlertCandidate
from alerts.roster import Roster
from gateway.notifiers.base import Channel, Notification, Receipt
from gateway.notifiers.failing import failing_channel
from gateway.storage.followups import FollowupTask
from gateway.storage.outbox import OutboxEntry

__all__ = ["CHANNEL", "LeadChannel", "escalation_entry", "failing_alert"]

log = logging.getLogger(__name__)

CHANNEL: Final = "followup"
ORDER: Final = ("sms", "email")
_RULES: Final = {
    "hypertension.routine": {"en": "hypertension follow-up", "zh-CN": "高血压随访"},
    "type2_diabetes.routine": {"en": "type 2 diabetes follow-up", "zh-CN": "2 型糖尿病随访"},
    "bp.uncontrolled": {"en": "follow-up for blood pressure above target",
                        "zh-CN": "血压高于目标的随访"},
}  # fmt: skip


def escalation_entry(t: FollowupTask, now: datetime) -> OutboxEntry:
    """The lead's notice of an overdue follow-up, to store with the escalation."""
    what = _RULES.get(t.rule, {"en": t.rule, "zh-CN": t.rule})
    due = t.due_at.date().isoformat()
    notice = {
        "en": {"title": f"Overdue follow-up: {t.patient_id}",
               "body": f"The {what['en']} of {t.patient_id} was due on {due} and is not done."},
        "zh-CN": {"title": f"随访逾期：{t.patient_id}",
                  "body": f"{t.patient_id} 的{what['zh-CN']}应于 {due} 完成，尚未完成。"},
    }  # fmt: skip
    payload = {"tenant": t.tenant, "patient_id": t.patient_id, "task_id": t.task_id,
               "lead": t.escalated_to, "notice": notice}  # fmt: skip
    return OutboxEntry(f"{t.task_id}:escalated", CHANNEL, t.task_id, "escalated", payload, now)


class LeadChannel:
    name = CHANNEL
    personal = False
    slow = True

    def __init__(
        self, personal: Sequence[Channel], roster_for: Callable[[str], Awaitable[Roster]]
    ) -> None:
        self.channels = {c.name: c for c in personal if c.personal}
        self.roster_for = roster_for

    async def deliver(self, n: Notification) -> Receipt:
        roster = await self.roster_for(str(n.payload["tenant"]))
        lead = roster.members.get(str(n.payload.get("lead") or ""))
        if lead is None:
            return Receipt(CHANNEL, "", False, error="no team lead on the roster")
        for name in ORDER:
            ch = self.channels.get(name)
            for c in lead.contacts if ch is not None else ():
                if c.channel == name and ch is not None:
                    r = await ch.deliver(Notification(n.key, None, n.payload, lead, c.address))
                    if r.ok:
                        return Receipt(CHANNEL, f"{name}:{c.address}", True)
        return Receipt(CHANNEL, lead.member_id, False, error="team lead not reached")


def failing_alert(entry: OutboxEntry, error: str, now: datetime) -> tuple[AlertCandidate, str]:
    """The team lead could not be told of an overdue follow-up: a technical alert."""
    tenant = str(entry.payload["tenant"])
    cand = failing_channel(
        CHANNEL, str(entry.payload["patient_id"]), tenant, error, now, entry.attempts + 1,
        task_id=entry.payload["task_id"],
    )  # fmt: skip
    return cand, tenant
