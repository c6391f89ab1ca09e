"""What every notification channel shares: the notification, the receipt, the channel protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from alerts.model import AlertEvent
from alerts.roster import Member
from devices.timeparse import format_ts

# Short bilingual headlines; the alert's own message (both languages) follows.
HEADLINES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "opened": "[{priority}] New alert for {patient}",
        "updated": "[{priority}] Alert worsened for {patient}",
        "escalated": "[{priority}] ESCALATED (tier {tier}: {tier_name}) for {patient}",
        "acknowledged": "Alert acknowledged by {by} for {patient}",
        "referred": "Patient {patient} referred",
        "resolved": "Alert resolved for {patient}",
        "dispatched": "Help dispatched to {patient} by {by}",
        "arrived": "Help arrived at {patient}",
    },
    "zh-CN": {
        "opened": "【{priority_zh}】患者 {patient} 新告警",
        "updated": "【{priority_zh}】患者 {patient} 病情加重",
        "escalated": "【{priority_zh}】告警已升级（第 {tier} 级：{tier_name}），患者 {patient}",
        "acknowledged": "{by} 已确认患者 {patient} 的告警",
        "referred": "患者 {patient} 已转诊",
        "resolved": "患者 {patient} 的告警已解除",
        "dispatched": "{by} 已派人前往患者 {patient} 处",
        "arrived": "救助人员已到达患者 {patient} 处",
    },
}
_PRIORITY_ZH = {"high": "高", "medium": "中", "low": "低"}


def idempotency_key(e: AlertEvent) -> str:
    """Stable across retries and restarts: the same event always has the same key."""
    tier = e.escalation.tier if e.escalation is not None else ""
    return f"{e.alert.alert_id}:{e.event.value}:{format_ts(e.at)}:{tier}:{e.alert.updates}"


def render_text(doc: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """(title, body) for a person, in their language (zh-CN or en), from the alert event
    document (`alerts.serialize.event_to_json`: what the outbox keeps, so a notice sent again
    after a restart reads the same)."""
    notice = doc.get("notice")
    if isinstance(notice, Mapping):  # a results notice (`gateway.results`): both languages
        first = lang if lang in notice else "zh-CN"
        rest = [notice[k] for k in notice if k != first]
        body = "\n\n".join([notice[first]["body"], *(f"{t['title']}\n{t['body']}" for t in rest)])
        return str(notice[first]["title"]), body
    a = doc["alert"]
    esc = doc.get("detail", {}).get("escalation")
    params = {
        "priority": str(a["priority"]).upper(),
        "priority_zh": _PRIORITY_ZH[str(a["priority"])],
        "patient": a["patient_id"],
        "tier": esc["tier"] if esc else a["escalation_tier"],
        "tier_name": esc["tier_name"] if esc else "",
        "by": doc.get("by") or "",
    }
    lang = lang if lang in HEADLINES else "zh-CN"
    title = HEADLINES[lang][str(doc["event"])].format(**params)
    message: Mapping[str, str] = a.get("message") or {}
    body = message.get(lang) or next(iter(message.values()), a["code"])
    return title, f"{body} ({a['code']}, {doc['at']})"


@dataclass(frozen=True, slots=True)
class Notification:
    """One alert event to send. `key` is its delivery id; `payload` is the alert event document
    (with `delivery_id`). `event` is None when the notification comes from the outbox after a
    restart: broadcast channels work from the payload alone."""

    key: str
    event: AlertEvent | None
    payload: Mapping[str, Any]
    recipient: Member | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    channel: str
    target: str
    ok: bool
    attempts: int = 1
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """A notification channel. Broadcast channels (`personal = False`) get every event;
    personal ones (email, SMS) get one notification per recipient address of the tier."""

    name: str
    personal: bool
    # Slow channels (network round trips, retries) run in the background, off the ingest path.
    slow: bool

    async def deliver(self, n: Notification) -> Receipt: ...


class AlertSink(Protocol):
    """An extra listener told every stored alert event (the demo console, tests); its failures
    are its own business and never block ingest."""

    async def send(self, events: Sequence[AlertEvent]) -> None: ...
