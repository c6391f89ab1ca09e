"""The outbox sender: each broadcast channel delivers on its own, marks what it delivered, backs
off and retries what failed, reports a channel that keeps failing, and after a restart sends what
was stored but never delivered (same delivery id)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.lifecycle import open_alert
from alerts.model import AlertCandidate, AlertEvent
from gateway.notifiers import Notification, Receipt, idempotency_key
from gateway.notifiers.failing import CHANNEL_FAILED, channel_failed
from gateway.notifiers.outbox import OutboxSender, channel_keys, outbox_entries
from gateway.storage import AlertRecord, Database, OutboxEntry, Stores, Transaction

T0 = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


def crisis(patient: str) -> AlertEvent:
    return open_alert("t", AlertCandidate(patient, "bp.hypertensive_crisis", T0), T0)


class Fake:
    """A broadcast channel that fails its first `fail` deliveries."""

    personal = False
    slow = False

    def __init__(self, name: str, fail: int = 0) -> None:
        self.name = name
        self.fail = fail
        self.got: list[str] = []
        self.tries = 0

    async def deliver(self, n: Notification) -> Receipt:
        self.tries += 1
        assert n.payload["delivery_id"] == n.key
        if self.tries <= self.fail:
            return Receipt(self.name, "x", False, error="HTTP 503")
        self.got.append(n.key)
        return Receipt(self.name, "x", True)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hmg.db'}")
    await db.create_schema()
    yield Stores.of(db)
    await db.dispose()


async def write(stores: Stores, sender: OutboxSender, events: list[AlertEvent]) -> None:
    """What an outbox writer does: entries stored in one transaction, then handed over."""
    async with stores.transaction() as tx:
        stored = await stores.outbox.add(outbox_entries(events, sender.channels, T0), T0, tx=tx)
    sender.hand(stored)


async def until(pred: object, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not pred():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_each_webhook_gets_its_own_key_and_personal_channels_none() -> None:
    class Personal(Fake):
        personal = True

    keys = channel_keys([Fake("mqtt"), Fake("webhook"), Fake("webhook"), Personal("sms")])
    assert list(keys) == ["mqtt", "webhook", "webhook.2"]


async def test_delivered_once_marked_and_logged_with_the_delivery_id(stores: Stores) -> None:
    mqtt, hook = Fake("mqtt"), Fake("webhook")
    sender = OutboxSender(stores.outbox, {"mqtt": mqtt, "webhook": hook}, log_deliveries=True)
    stop = asyncio.Event()
    run = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0)
    events = [crisis("p-1"), crisis("p-2")]
    await write(stores, sender, events)
    await until(lambda: len(mqtt.got) == 2 and len(hook.got) == 2)
    assert mqtt.got == [idempotency_key(e) for e in events]
    stop.set()
    await run
    assert await stores.outbox.pending(T0.replace(year=2100)) == []
    logged = await stores.deliveries.of_alert(events[0].alert.alert_id)
    assert sorted((d.channel, d.status, d.key) for d in logged) == [
        ("mqtt", "delivered", idempotency_key(events[0])),
        ("webhook", "delivered", idempotency_key(events[0])),
    ]


async def test_record_stores_the_change_with_its_notifications_then_sends_them(
    stores: Stores,
) -> None:
    mqtt = Fake("mqtt")
    sender = OutboxSender(stores.outbox, {"mqtt": mqtt}, records=stores.records)
    stop = asyncio.Event()
    run = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0)
    opened = crisis("p-1")
    await sender.record(AlertRecord(at=T0, events=[opened], client="gateway"))
    await until(lambda: mqtt.got == [idempotency_key(opened)])
    assert await stores.alerts.get(opened.alert.alert_id) == opened.alert

    async def refuse(tx: Transaction) -> None:
        raise RuntimeError("the other write of the change fails")

    other = crisis("p-2")
    with pytest.raises(RuntimeError, match="other write"):
        await sender.record(AlertRecord(at=T0, events=[other]), also=refuse)
    await asyncio.sleep(0.05)
    assert mqtt.got == [idempotency_key(opened)]  # nobody told of what was not stored
    assert await stores.alerts.get(other.alert.alert_id) is None
    assert await stores.outbox.of_alert(other.alert.alert_id) == []
    stop.set()
    await run


async def test_a_sender_without_a_record_store_records_nothing(stores: Stores) -> None:
    sender = OutboxSender(stores.outbox, {"mqtt": Fake("mqtt")})
    with pytest.raises(RuntimeError, match="no record store"):
        await sender.record(AlertRecord(at=T0, events=[crisis("p-1")]))


async def test_a_failing_channel_backs_off_retries_and_is_reported_alone(stores: Stores) -> None:
    mqtt, hook = Fake("mqtt"), Fake("webhook", fail=4)
    failing: list[tuple[str, str]] = []
    sender = OutboxSender(
        stores.outbox,
        {"mqtt": mqtt, "webhook": hook},
        on_failing=lambda e, err: failing.append((e.channel, err)),
        backoff_s=0.01,
        fail_after=3,
    )
    stop = asyncio.Event()
    run = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0)
    events = [crisis("p-1"), crisis("p-2")]
    await write(stores, sender, events)
    await until(lambda: len(mqtt.got) == 2)  # not held up by the dead webhook
    await until(lambda: len(hook.got) == 2)
    assert hook.got == [idempotency_key(e) for e in events]  # the oldest first, in order
    assert hook.tries == 6
    assert failing == [("webhook", "HTTP 503")]  # reported once, at the third attempt
    stop.set()
    await run


async def test_per_entry_a_failing_addressee_holds_up_nobody_and_retries_on_its_own(
    stores: Stores,
) -> None:
    class Addressed(Fake):
        """Fails every delivery of the first entry it sees (its addressee cannot be reached)."""

        def __init__(self) -> None:
            super().__init__("results")
            self.bad: str | None = None

        async def deliver(self, n: Notification) -> Receipt:
            self.tries += 1
            self.bad = self.bad or n.key
            if n.key == self.bad:
                return Receipt(self.name, "x", False, error="no contact reached")
            self.got.append(n.key)
            return Receipt(self.name, "x", True)

    ch = Addressed()
    failing: list[str] = []
    sender = OutboxSender(
        stores.outbox, {"results": ch}, on_failing=lambda e, err: failing.append(e.delivery_id),
        backoff_s=0.01, fail_after=3, sweep_s=0.02, grace_s=0.0, per_entry=True,
    )  # fmt: skip
    stop = asyncio.Event()
    run = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0)
    entries = [OutboxEntry(f"n-{i}", "results", f"n-{i}", "notice", {}, T0) for i in range(3)]
    async with stores.transaction() as tx:
        stored = await stores.outbox.add(entries, T0, tx=tx)
    sender.hand(stored)
    await until(lambda: ch.got == ["n-1", "n-2"])  # the two behind it went out at once
    await until(lambda: failing == ["n-0"])  # the unreachable one retried on its own back-off
    (left,) = await stores.outbox.pending(datetime(2100, 1, 1, tzinfo=UTC))
    assert (left.delivery_id, left.error) == ("n-0", "no contact reached")
    assert left.attempts >= 3
    stop.set()
    await run


async def test_what_a_dead_process_left_undelivered_is_sent_after_the_restart(
    stores: Stores,
) -> None:
    events = [crisis("p-1")]
    first = OutboxSender(stores.outbox, {"mqtt": Fake("mqtt")})
    await write(stores, first, events)  # stored, never sent: the process died here
    mqtt = Fake("mqtt")
    second = OutboxSender(stores.outbox, {"mqtt": mqtt}, grace_s=0.0, sweep_s=0.05)
    stop = asyncio.Event()
    run = asyncio.create_task(second.run(stop))
    await until(lambda: mqtt.got == [idempotency_key(events[0])])
    await asyncio.sleep(0.2)  # later sweeps do not send it again
    assert mqtt.got == [idempotency_key(events[0])]
    stop.set()
    await run


def test_a_failing_channel_raises_a_technical_alert_but_not_about_itself() -> None:
    e = crisis("p-9")
    payload = {"event": "opened", "alert": {"patient_id": "p-9", "tenant": "t",
                                           "code": e.alert.code}}  # fmt: skip
    entry = OutboxEntry("k", "webhook.2", e.alert.alert_id, "opened", payload, T0)
    raised = channel_failed(entry, "HTTP 503", T0)
    assert raised is not None
    (cand,), tenant = raised
    assert (cand.patient_id, cand.code, cand.group, tenant) == (
        "p-9", CHANNEL_FAILED, f"{CHANNEL_FAILED}:webhook.2", "t",
    )  # fmt: skip
    about_itself = {"alert": {"patient_id": "p-9", "tenant": "t", "code": CHANNEL_FAILED}}
    own = OutboxEntry("k2", "webhook.2", "a-2", "opened", about_itself, T0)
    assert channel_failed(own, "HTTP 503", T0) is None


def quick(stores: Stores, channel: Fake) -> OutboxSender:
    """A sender that sweeps often, with a short lease and back-off."""
    return OutboxSender(
        stores.outbox, {channel.name: channel}, sweep_s=0.05, grace_s=0.0, lease_s=0.4,
        backoff_s=0.02, max_backoff_s=0.02,
    )  # fmt: skip


async def test_two_senders_on_one_store_send_an_entry_one_at_a_time(stores: Stores) -> None:
    """Scaled out, every process sweeps the same store: an entry its writer holds (here, while
    the channel keeps failing) is not taken by another; once the writer dies, its lease runs out
    and the other sends it; a sender that stops gives its entries up at once."""
    events = [crisis("p-1")]
    key = idempotency_key(events[0])
    down = Fake("mqtt", fail=10**6)
    first = quick(stores, down)
    mqtt = Fake("mqtt")
    other = quick(stores, mqtt)
    stop = asyncio.Event()
    runs = [asyncio.create_task(s.run(stop)) for s in (first, other)]
    await asyncio.sleep(0)
    await write(stores, first, events)
    await asyncio.sleep(1.0)  # many sweeps of the other sender, many failed tries of the first
    assert down.tries > 5
    assert mqtt.got == []
    runs[0].cancel()  # the first process dies holding it
    with contextlib.suppress(asyncio.CancelledError):
        await runs[0]
    t = asyncio.get_running_loop().time()
    await until(lambda: mqtt.got == [key])
    assert asyncio.get_running_loop().time() - t > 0.2  # not before the lease ran out
    stop.set()
    await runs[1]

    # A sender that stops gives up what it holds: the next one sends it without waiting.
    events = [crisis("p-2")]
    third = quick(stores, Fake("mqtt", fail=10**6))
    third.start()
    await write(stores, third, events)
    await asyncio.sleep(0.2)
    await third.stop(drain_s=0.1)
    fourth_mqtt = Fake("mqtt")
    fourth = quick(stores, fourth_mqtt)
    stop = asyncio.Event()
    run = asyncio.create_task(fourth.run(stop))
    t = asyncio.get_running_loop().time()
    await until(lambda: fourth_mqtt.got == [idempotency_key(events[0])])
    assert asyncio.get_running_loop().time() - t < 0.3
    stop.set()
    await run
