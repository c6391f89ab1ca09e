"""The dispatcher: one alert sink that fans events out to the registered channels.

Broadcast channels (MQTT topic, SSE, webhooks) get every event. Events that notify a tier (they
carry an `EscalationDetail`: opened, escalated, worsened) also go to the tier's people: for each
recipient the tier's channels are tried in order and the first that works wins (a failed
channel falls back to the next one). When nobody of the tier could be reached, `on_tier_failure`
is called with the alert id, and the gateway moves the alert on to the next tier at once. Every
attempt is recorded with its receipt or error. Slow channels run as background tasks so that a
dead webhook receiver never holds up ingest; `drain` waits for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from alerts.model import AlertEvent
from alerts.roster import Roster
from alerts.serialize import event_to_json
from devices.model import utcnow
from gateway.notifiers.base import Channel, Notification, Receipt, idempotency_key
from gateway.storage.deliveries import Delivery

log = logging.getLogger(__name__)


class DeliveryLog(Protocol):
    async def record(self, d: Delivery) -> None: ...


class Dispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        roster_for: Callable[[str], Awaitable[Roster]] | None = None,
        deliveries: DeliveryLog | None = None,
        on_tier_failure: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        broadcast: bool = True,
    ) -> None:
        self.channels = list(channels)
        # False when the outbox sends on the broadcast channels (the gateway's case): then the
        # dispatcher only tells the tier's people.
        self.broadcast = broadcast
        self.roster_for = roster_for
        self.deliveries = deliveries
        self.on_tier_failure = on_tier_failure
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    async def send(self, events: Sequence[AlertEvent]) -> None:
        for e in events:
            payload = event_to_json(e)
            n = Notification(idempotency_key(e), e, payload)
            for ch in self.channels:
                if ch.personal or not self.broadcast:
                    continue
                if ch.slow:
                    self._spawn(self._deliver(ch, n))
                else:
                    await self._deliver(ch, n)
            personal = any(c.personal for c in self.channels)
            if e.escalation is not None and self.roster_for is not None and personal:
                self._spawn(self._notify_tier(n))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("notification task failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background deliveries (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, ch: Channel, n: Notification) -> Receipt:
        try:
            receipt = await ch.deliver(n)
        except Exception as exc:  # a broken channel is a failed delivery, not a crash
            log.exception("channel %s failed", ch.name)
            receipt = Receipt(ch.name, n.address or "", False, error=f"{type(exc).__name__}")
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

    async def _notify_tier(self, n: Notification) -> None:
        e = n.event
        esc = e.escalation if e is not None else None
        if self.roster_for is None or e is None or esc is None:
            return
        roster = await self.roster_for(e.alert.tenant)
        people = roster.resolve(esc.targets, e.alert.patient_id, e.at)
        order = list(esc.channels or [c.name for c in self.channels if c.personal])
        reached = 0
        for person in people:
            for name in order:
                ch = self.channel(name)
                if ch is None or not ch.personal:
                    continue
                addresses = [c.address for c in person.contacts if c.channel == name]
                results = [
                    await self._deliver(
                        ch, Notification(n.key, e, n.payload, recipient=person, address=addr)
                    )
                    for addr in addresses
                ]
                if any(r.ok for r in results):
                    reached += 1
                    break
        if reached == 0 and self.on_tier_failure is not None:
            log.warning(
                "nobody reached at tier %s for alert %s (%s)",
                esc.tier_name,
                e.alert.alert_id,
                e.alert.code,
            )
            self.on_tier_failure(e.alert.alert_id)
