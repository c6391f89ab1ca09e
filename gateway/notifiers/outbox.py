"""At-least-once delivery of alert notifications on the broadcast channels (transactional outbox).

Whoever changes alerts (detection, a clinician's action, a consultation) hands the change to
`OutboxSender.record`: the events' notifications (`outbox_entries`, one per event and channel:
MQTT alert topic, SSE, each webhook, and the escalation tier's people for an event that notifies
a tier, `gateway.notifiers.tiers`) are written with the change in its one transaction (the alert
record, `gateway.storage.record`), and once that is committed the sender delivers them at once.
So an alert event is never stored without its notifications, and a notification goes out only
for a stored event. Other writers of the outbox (the platform push, the results notices, the
follow-ups) store their own entries and `hand` them over once committed.

Each channel has its own worker and queue, so a dead webhook receiver never holds up the MQTT
alert topic. An entry is marked delivered when its channel confirmed it (the broker's PUBACK, a
2xx from the webhook receiver); a failed attempt is tried again after a back-off that doubles per
failure of that channel (`backoff_s` up to `max_backoff_s`), oldest entry first. An entry that
failed `fail_after` attempts is reported once through `on_failing` (the gateway raises a
technical alert and moves the alert on to the next escalation tier). A sender whose failures
belong to one entry's addressee rather than to the channel (`per_entry`: the results notices,
where one elder without a reachable contact must not hold up the others) does not wait: the
failed entry is stored with its own back-off (doubling per attempt of that entry) and the sweep
queues it again once it is due, while the entries behind it go out at once.

Entries that are not delivered, whatever the reason (the process died, a channel was down), are
found again by the sweep: at start and every `sweep_s`, undelivered entries that have been due
for `grace_s` are claimed and queued again. A claim leases the entry to this sender for
`lease_s` (`OutboxStore.claim`), and each sweep renews the lease of every entry the sender holds
(queued, being delivered, waiting out a back-off), the ones its own process wrote included; so
when several processes send from one store (scaled out: workers, routers and API processes) an
entry is sent by one of them at a time, and the entries of a process that died are taken by
another once their lease ran out (within `lease_s` + `grace_s` + `sweep_s`). A sender that stops
gives its leases up. A receiver may still see a notification more than once (the process died
between the delivery and its marking; a sender stalled past its lease), always with the same
delivery id (`delivery_id` in the MQTT payload and the webhook body, the `Idempotency-Key`
header, the SSE `id:`), and drops what it has seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from alerts.model import AlertEvent
from alerts.serialize import event_to_json
from devices.model import utcnow
from gateway.notifiers.base import AlertSink, Channel, Notification, Receipt, idempotency_key
from gateway.storage.deliveries import Delivery
from gateway.storage.outbox import OutboxEntry, OutboxStore
from gateway.storage.record import AlertRecord, RecordStore, Write

log = logging.getLogger(__name__)

# Deliveries marked in one transaction at most.
SETTLE_MAX = 100


@runtime_checkable
class Selective(Protocol):
    """A channel that takes only some events (the tier's people: events that notify a tier)."""

    def wants(self, doc: Mapping[str, Any]) -> bool: ...


def channel_keys(channels: Sequence[Channel]) -> dict[str, Channel]:
    """Broadcast channels by key: the channel's name, numbered from the second of a name on
    (`webhook`, `webhook.2`), so each webhook URL has its own entries and worker."""
    out: dict[str, Channel] = {}
    for ch in channels:
        if ch.personal:
            continue
        key, n = ch.name, 1
        while key in out:
            n += 1
            key = f"{ch.name}.{n}"
        out[key] = ch
    return out


def outbox_entries(
    events: Sequence[AlertEvent], channels: Mapping[str, Channel], now: datetime
) -> list[OutboxEntry]:
    """The notifications of `events`, due `now`: one per event and channel that takes it (every
    broadcast channel, the tier's channel for events that notify a tier; `channels` by key, as
    `channel_keys` gives them). Pure: the alert record stores them with the events."""
    out: dict[tuple[str, str], OutboxEntry] = {}
    for e in events:
        key = idempotency_key(e)
        payload = {**event_to_json(e), "delivery_id": key}
        for name, ch in channels.items():
            if isinstance(ch, Selective) and not ch.wants(payload):
                continue
            alert_id, event = e.alert.alert_id, e.event.value
            out[(key, name)] = OutboxEntry(key, name, alert_id, event, payload, now)
    return list(out.values())


class OutboxSender:
    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, Channel],
        *,
        records: RecordStore | None = None,
        log_deliveries: bool = False,
        on_failing: Callable[[OutboxEntry, str], None] | None = None,
        sinks: Sequence[AlertSink] = (),
        clock: Callable[[], datetime] = utcnow,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        fail_after: int = 3,
        sweep_s: float = 2.0,
        grace_s: float = 5.0,
        per_entry: bool = False,
        lease_s: float = 10.0,
    ) -> None:
        self.store = store
        self.records = records
        self.channels = dict(channels)
        self.log_deliveries = log_deliveries
        self.on_failing = on_failing
        self.sinks = list(sinks)
        self.clock = clock
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.fail_after = fail_after
        self.sweep_s = sweep_s
        self.grace_s = grace_s
        self.per_entry = per_entry
        self.lease_s = lease_s
        self._queues: dict[str, asyncio.Queue[OutboxEntry | None]] = {}
        self._held: set[int] = set()  # entry ids queued or being delivered in this process
        self._idle = asyncio.Event()  # set while nothing is held
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.delivered = 0

    # -- what the writers call ----------------------------------------------------------------
    async def record(self, record: AlertRecord, *, also: Write | None = None) -> None:
        """Write one alert change (`record`, and `also` first) with its events' notifications in
        one transaction (`RecordStore.commit`), then deliver those and tell the extra listeners
        (`sinks`) the events. If the write fails, its error is raised: nothing is stored and
        nobody is told."""
        if self.records is None:
            raise RuntimeError("this sender records no alert changes (it has no record store)")
        events = record.events
        outbox = outbox_entries(events, self.channels, record.at) if events else []
        self.hand(await self.records.commit(replace(record, outbox=outbox), also=also))
        for sink in self.sinks if events else ():
            try:
                await sink.send(events)
            except Exception:  # a listener's failure must never stop ingest
                log.exception("alert sink %r failed", sink)

    def hand(self, stored: Sequence[OutboxEntry]) -> None:
        """Entries whose transaction is committed: deliver them now (if the sender runs; else the
        sweep finds them)."""
        if not self._tasks:
            return
        for entry in stored:
            self._queue(entry)

    def _queue(self, entry: OutboxEntry) -> None:
        q = self._queues.get(entry.channel)
        if q is None or entry.id in self._held:
            return
        self._held.add(entry.id)
        self._idle.clear()
        q.put_nowait(entry)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, then drain and stop (cancelled: stop at once, as when the
        process dies; what is undelivered stays stored)."""
        self.start()
        try:
            await stop.wait()
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()
            raise
        await self.stop()

    def start(self) -> None:
        if self._tasks:
            return
        self._stop.clear()
        loop = asyncio.get_running_loop()
        for key in self.channels:
            self._queues[key] = asyncio.Queue()
            self._tasks.append(loop.create_task(self._work(key), name=f"outbox-{key}"))
        self._tasks.append(loop.create_task(self._sweeper(), name="outbox-sweep"))

    async def stop(self, drain_s: float = 5.0) -> None:
        """Give queued entries `drain_s` to go out, then stop (what is left stays stored). The
        workers finish what they are doing (a delivery, its marking) and leave; only one still
        busy after another `drain_s` is cancelled."""
        if not self._tasks:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), drain_s)
        self._stop.set()
        for q in self._queues.values():
            q.put_nowait(None)
        _, late = await asyncio.wait(self._tasks, timeout=drain_s)
        for task in late:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._queues.clear()
        try:  # what is left is due again at once, for whoever sends next
            await self._lease(self._held, self.clock())
        except Exception:
            log.exception("outbox: leases not given up; they run out by themselves")
        self._held.clear()
        self._idle.set()

    async def drain(self) -> None:
        """Wait until nothing is queued or being delivered (tests, shutdown)."""
        await self._idle.wait()

    # -- the sweep ------------------------------------------------------------------------
    async def sweep(self, grace_s: float | None = None) -> int:
        """Renew the lease of what this sender holds, then claim and queue undelivered entries
        due for `grace_s` (default the sender's); how many were queued."""
        grace = self.grace_s if grace_s is None else grace_s
        now = self.clock()
        until = now + timedelta(seconds=self.lease_s)
        await self._lease(self._held, until)
        due = await self.store.claim(
            now - timedelta(seconds=grace), until, channels=list(self._queues)
        )
        n = 0
        for entry in due:
            if entry.channel in self._queues and entry.id not in self._held:
                self._queue(entry)
                n += 1
        return n

    async def _lease(self, held: set[int], until: datetime) -> None:
        ids = sorted(held)
        for i in range(0, len(ids), SETTLE_MAX * 5):
            await self.store.lease(ids[i : i + SETTLE_MAX * 5], until)

    async def _sweeper(self) -> None:
        while not self._stop.is_set():
            try:
                found = await self.sweep()
                if found:
                    log.info("outbox: %d undelivered notifications queued again", found)
            except Exception:
                log.exception("outbox sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.sweep_s)

    # -- one worker per channel -----------------------------------------------------------
    async def _work(self, key: str) -> None:
        ch = self.channels[key]
        q = self._queues[key]
        failures = 0
        while True:
            entry = await q.get()
            if entry is None or self._stop.is_set():
                return
            done: list[tuple[OutboxEntry, Receipt]] = []
            receipt: Receipt | None = None
            while entry is not None:
                receipt = await self._try(ch, entry)
                if not receipt.ok:
                    break
                done.append((entry, receipt))
                # What is queued already goes out before the delivered ones are marked, so a
                # burst costs one transaction, not one per notification.
                entry = None
                if not q.empty() and len(done) < SETTLE_MAX and not self._stop.is_set():
                    entry = q.get_nowait()  # None (stop) ends the burst too
            if done:
                failures = 0
                await self._settle(done)
            if entry is None or receipt is None:
                if self._stop.is_set():
                    return
                continue
            if self.per_entry:  # the entry waits for its own retry; the others go on
                delay = min(self.backoff_s * 2**entry.attempts, self.max_backoff_s)
                await self._failed(key, q, entry, receipt, delay)
                continue
            failures += 1
            delay = min(self.backoff_s * 2 ** (failures - 1), self.max_backoff_s)
            await self._failed(key, q, entry, receipt, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _failed(
        self,
        key: str,
        q: asyncio.Queue[OutboxEntry | None],
        entry: OutboxEntry,
        receipt: Receipt,
        delay: float,
    ) -> None:
        """Store the failed attempt, report a channel that keeps failing, and put the entry back
        at the head of its channel's queue (the oldest goes first when the channel tries again)."""
        attempts = entry.attempts + 1
        error = receipt.error or "failed"
        log.warning("outbox: %s delivery of %s failed (%s)", key, entry.delivery_id, error)
        # Held here (unless per entry: the sweep claims it again when due), so no other sender
        # takes it before this one's lease runs out.
        held_s = 0.0 if self.per_entry else self.lease_s
        due = self.clock() + timedelta(seconds=max(delay, held_s))
        logged = [self._delivery(entry, receipt)] if self.log_deliveries else []
        try:
            await self.store.retry(entry.id, attempts, due, error, logged)
        except Exception:
            log.exception("outbox: could not store a failed attempt of %s", entry.delivery_id)
        if attempts == self.fail_after and self.on_failing is not None:
            try:
                self.on_failing(entry, error)
            except Exception:
                log.exception("outbox: reporting a failing %s channel failed", key)
        if self.per_entry:  # the sweep queues it again when it is due
            self._held.discard(entry.id)
            if not self._held:
                self._idle.set()
            return
        retried = replace(entry, attempts=attempts, error=error)
        rest = [q.get_nowait() for _ in range(q.qsize())]
        for item in (retried, *rest):
            q.put_nowait(item)
        if self._stop.is_set():
            q.put_nowait(None)

    async def _try(self, ch: Channel, entry: OutboxEntry) -> Receipt:
        try:
            return await ch.deliver(Notification(entry.delivery_id, None, entry.payload))
        except Exception as exc:  # a broken channel is a failed delivery, not a crash
            log.exception("channel %s failed", ch.name)
            return Receipt(ch.name, "", False, error=type(exc).__name__)

    async def _settle(self, done: Sequence[tuple[OutboxEntry, Receipt]]) -> None:
        logged = [self._delivery(e, r) for e, r in done] if self.log_deliveries else []
        try:
            await self.store.settle([e.id for e, _ in done], self.clock(), logged)
        except Exception:  # they stay undelivered in the store: the sweep sends them again
            log.exception("outbox: could not mark %d notifications delivered", len(done))
        self.delivered += len(done)
        for entry, _ in done:
            self._held.discard(entry.id)
        if not self._held:
            self._idle.set()

    def _delivery(self, entry: OutboxEntry, r: Receipt) -> Delivery:
        """The delivery log's row (`notification_deliveries`): attempts count the channel's own
        tries of this delivery after the outbox's earlier ones."""
        return Delivery(
            key=entry.delivery_id,
            alert_id=entry.alert_id,
            event=entry.event,
            channel=r.channel,
            target=r.target,
            status="delivered" if r.ok else "failed",
            attempts=entry.attempts + r.attempts,
            at=self.clock(),
            error=r.error,
            receipt=dict(r.detail),
        )
