"""The escalation tier's people: e-mail and SMS to whoever the tier names, through the outbox.

An alert event that notifies a tier (it carries an escalation detail: opened, escalated,
worsened) gets one outbox entry on the `tier` channel, stored with the event like the broadcast
channels' entries, so a crash between storing the event and paging the on-call never loses the
page: the sweep sends it again, with the same delivery id.

Delivering that entry resolves the tier's targets against the tenant's roster at the event's
time, and for each person tries the tier's personal channels in order (the first that reaches
them wins: a failed SMS falls back to e-mail); every attempt is recorded in the delivery log.
When nobody of the tier could be reached, `on_tier_failure` moves the alert on to the next tier
at once and the entry is done (the next tier's event has an entry of its own). Only a failure to
look the tier up at all (the roster store down) leaves the entry to be tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from alerts.roster import Roster
from devices.model import utcnow
from devices.timeparse import parse_ts
from gateway.notifiers.base import Channel, Notification, Receipt
from gateway.storage.deliveries import Delivery

log = logging.getLogger(__name__)

TIER_CHANNEL = "tier"


class DeliveryLog(Protocol):
    async def record(self, d: Delivery) -> None: ...


def escalation_of(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The escalation detail of an alert event document, if it notifies a tier."""
    esc = doc.get("detail", {}).get("escalation")
    return esc if isinstance(esc, Mapping) else None


class TierChannel:
    """The outbox's `tier` channel: one entry per event that notifies a tier."""

    name = TIER_CHANNEL
    personal = False
    slow = True

    def __init__(
        self,
        personal: Sequence[Channel],
        roster_for: Callable[[str], Awaitable[Roster]],
        *,
        deliveries: DeliveryLog | None = None,
        on_tier_failure: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.channels = {c.name: c for c in personal if c.personal}
        self.roster_for = roster_for
        self.deliveries = deliveries
        self.on_tier_failure = on_tier_failure
        self.clock = clock

    def wants(self, doc: Mapping[str, Any]) -> bool:
        """Only events that notify a tier are this channel's (and only with someone to page)."""
        return bool(self.channels) and escalation_of(doc) is not None

    async def deliver(self, n: Notification) -> Receipt:
        doc = n.payload
        esc = escalation_of(doc)
        alert = doc["alert"]
        if esc is None:
            return Receipt(self.name, "", True, detail={"reached": 0})
        roster = await self.roster_for(str(alert["tenant"]))  # raising: tried again later
        at = parse_ts(str(doc["at"]))
        people = roster.resolve(tuple(esc["targets"]), str(alert["patient_id"]), at)
        order = [str(c) for c in esc.get("channels") or ()] or list(self.channels)
        reached = 0
        for person in people:
            for name in order:
                ch = self.channels.get(name)
                if ch is None:
                    continue
                addresses = [c.address for c in person.contacts if c.channel == name]
                results = [
                    await self._try(ch, Notification(n.key, n.event, doc, person, addr))
                    for addr in addresses
                ]
                if any(r.ok for r in results):
                    reached += 1
                    break
        target = f"tier {esc['tier']}: {esc['tier_name']}"
        if reached == 0 and self.on_tier_failure is not None:
            log.warning("nobody reached at %s for alert %s", target, alert["alert_id"])
            self.on_tier_failure(str(alert["alert_id"]))
        return Receipt(self.name, target, True, detail={"reached": reached, "people": len(people)})

    async def _try(self, ch: Channel, n: Notification) -> Receipt:
        try:
            receipt = await ch.deliver(n)
        except Exception as exc:  # a broken channel is a failed delivery, not a crash
            log.exception("channel %s failed", ch.name)
            receipt = Receipt(ch.name, n.address or "", False, error=type(exc).__name__)
        await self._record(n, receipt)
        return receipt

    async def _record(self, n: Notification, r: Receipt) -> None:
        if self.deliveries is None:
            return
        try:
            await self.deliveries.record(
                Delivery(
                    key=n.key,
                    alert_id=str(n.payload["alert"]["alert_id"]),
                    event=str(n.payload["event"]),
                    channel=r.channel,
                    target=r.target,
                    status="delivered" if r.ok else "failed",
                    attempts=r.attempts,
                    at=self.clock(),
                    error=r.error,
                    receipt=dict(r.detail),
                )
            )
        except Exception:
            log.exception("could not record a delivery of %s", n.key)
