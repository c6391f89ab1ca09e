"""Notification channels: signed webhooks with retries, SSE fan-out, MQTT topic, the tier's
fan-out falling back from channel to channel and to the next tier."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.lifecycle import open_alert
from alerts.model import AlertCandidate, AlertEvent, EscalationDetail, EventType
from alerts.roster import CareTeam, Contact, Member, Roster
from alerts.serialize import event_to_json
from gateway.notifiers import (
    MqttTopicChannel,
    Notification,
    Receipt,
    SseChannel,
    TierChannel,
    WebhookChannel,
    idempotency_key,
    render_text,
    sign,
    verify,
)
from gateway.notifiers.base import HEADLINES
from gateway.storage import Delivery
from tests.support.provider import local_provider

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def crisis_event(escalation: bool = True) -> AlertEvent:
    ev = open_alert(
        "demo",
        AlertCandidate(
            "p-001", "bp.hypertensive_crisis", T0, params={"systolic": 190, "diastolic": 124}
        ),
        T0,
    )
    if not escalation:
        return ev
    detail = EscalationDetail(0, "family_doctor", ("team:fd",), ("sms", "email"), "opened")
    return AlertEvent(ev.event, ev.at, ev.alert, escalation=detail)


def note(ev: AlertEvent) -> Notification:
    return Notification(idempotency_key(ev), ev, event_to_json(ev))


async def test_webhook_signs_retries_with_backoff_and_keeps_the_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    responses = iter([503, 500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(responses), json={"ok": True})

    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    hook = WebhookChannel(
        "http://hook.test/in",
        "s3cret",
        backoff=0.5,
        sleep=fake_sleep,
        transport=httpx.MockTransport(handler),
    )
    n = note(crisis_event())
    receipt = await hook.deliver(n)
    assert receipt.ok
    assert receipt.attempts == 3
    assert receipt.detail == {"status": 200, "body": {"ok": True}}
    assert sleeps == [0.5, 1.0]
    assert {r.headers["Idempotency-Key"] for r in seen} == {n.key}
    for r in seen:
        assert verify(
            "s3cret", r.headers["X-HMG-Timestamp"], r.content, r.headers["X-HMG-Signature"]
        )
        assert not verify(
            "other", r.headers["X-HMG-Timestamp"], r.content, r.headers["X-HMG-Signature"]
        )
    body = json.loads(seen[0].content)
    assert body["event"] == "opened"
    assert body["delivery_id"] == n.key
    assert set(body["alert"]["message"]) == {"en", "zh-CN"}


async def test_webhook_does_not_retry_a_client_error() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(400)

    async def no_sleep(s: float) -> None:
        return None

    hook = WebhookChannel(
        "http://hook.test/in", "k", sleep=no_sleep, transport=httpx.MockTransport(handler)
    )
    receipt = await hook.deliver(note(crisis_event()))
    assert (receipt.ok, receipt.attempts, receipt.error, calls) == (False, 1, "HTTP 400", 1)


async def test_sse_fans_out_and_replays_after_last_event_id() -> None:
    """The `id:` of an alert event is its delivery id; a reconnect gets what came after it."""
    sse = SseChannel()
    stream = sse.stream("demo", heartbeat_s=5)
    assert await anext(stream) == "retry: 3000\n\n"
    got = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    first = note(crisis_event())
    await sse.deliver(first)
    frame = await asyncio.wait_for(got, 2)
    assert frame.startswith(f"id: {first.key}\nevent: opened\ndata: {{")
    assert json.loads(frame.split("data: ", 1)[1])["delivery_id"] == first.key
    await stream.aclose()
    assert sse.subscribers == 0
    ev = crisis_event()
    second = note(AlertEvent(ev.event, ev.at + timedelta(seconds=1), ev.alert))
    await sse.deliver(second)
    again = sse.stream("demo", last_event_id=first.key)
    assert await anext(again) == "retry: 3000\n\n"
    assert (await anext(again)).startswith(f"id: {second.key}\n")
    await again.aclose()
    # An id that is no longer in the backlog: everything the backlog holds, oldest first.
    unknown = sse.stream("demo", last_event_id="gone")
    assert await anext(unknown) == "retry: 3000\n\n"
    assert (await anext(unknown)).startswith(f"id: {first.key}\n")
    await unknown.aclose()


async def test_sse_serves_and_replays_only_the_subscribers_tenant() -> None:
    sse = SseChannel()
    await sse.deliver(note(crisis_event()))  # tenant demo
    other = sse.stream("t2", last_event_id="gone", heartbeat_s=0.05)
    assert await anext(other) == "retry: 3000\n\n"
    assert await anext(other) == ": keep-alive\n\n"  # nothing of t1 replayed
    got = asyncio.ensure_future(anext(other))
    await asyncio.sleep(0)
    await sse.deliver(note(crisis_event()))  # live, demo again
    assert await asyncio.wait_for(got, 2) == ": keep-alive\n\n"
    await other.aclose()


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, int]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.sent.append((topic, payload, qos))


async def test_mqtt_channel_publishes_the_contract_to_the_alert_topic() -> None:
    box = Outbox()
    r = await MqttTopicChannel(lambda: box).deliver(note(crisis_event(escalation=False)))
    assert r.ok
    topic, payload, qos = box.sent[0]
    assert (topic, qos) == ("hm/alerts/v1/demo/p-001", 1)
    assert json.loads(payload)["alert"]["code"] == "bp.hypertensive_crisis"
    assert not (await MqttTopicChannel(lambda: None).deliver(note(crisis_event()))).ok


class FakePersonal:
    personal = True
    slow = True

    def __init__(self, name: str, ok: bool) -> None:
        self.name = name
        self.ok = ok
        self.sent: list[tuple[str | None, str]] = []

    async def deliver(self, n: Notification) -> Receipt:
        lang = n.recipient.lang if n.recipient else "zh-CN"
        self.sent.append((n.address, render_text(n.payload, lang)[0]))
        return Receipt(self.name, n.address or "", self.ok, error=None if self.ok else "down")


def roster() -> Roster:
    li_contacts = (Contact("sms", "+8613800000001"), Contact("email", "li@example.org"))
    doc = Member("dr.li", "demo", "Dr Li", lang="zh-CN", contacts=li_contacts)
    nurse = Member(
        "nurse.wu", "demo", "Nurse Wu", lang="en", contacts=(Contact("email", "wu@example.org"),)
    )
    return Roster(
        members={m.member_id: m for m in (doc, nurse)},
        teams={"fd": CareTeam("fd", "demo", "Family doctors", members=("dr.li", "nurse.wu"))},
    )


async def _roster(_tenant: str) -> Roster:
    return roster()


def from_outbox(ev: AlertEvent) -> Notification:
    """The notification as the outbox hands it over (after a restart too): no event object."""
    return Notification(idempotency_key(ev), None, event_to_json(ev))


async def test_the_tier_falls_back_from_failed_sms_to_email_in_each_language() -> None:
    sms, email = FakePersonal("sms", ok=False), FakePersonal("email", ok=True)
    failures: list[str] = []
    tier = TierChannel([sms, email], _roster, on_tier_failure=failures.append)
    assert tier.wants(event_to_json(crisis_event()))
    assert not tier.wants(event_to_json(crisis_event(escalation=False)))
    receipt = await tier.deliver(from_outbox(crisis_event()))
    assert receipt.ok
    assert receipt.detail == {"reached": 2, "people": 2}
    assert [a for a, _ in sms.sent] == ["+8613800000001"]
    assert [a for a, _ in email.sent] == ["li@example.org", "wu@example.org"]
    assert "新告警" in email.sent[0][1]  # Dr Li reads zh-CN
    assert "New alert" in email.sent[1][1]  # Nurse Wu reads en
    assert failures == []


async def test_the_tier_moves_to_the_next_tier_when_nobody_is_reached() -> None:
    failures: list[str] = []
    ev = crisis_event()
    tier = TierChannel(
        [FakePersonal("sms", ok=False), FakePersonal("email", ok=False)],
        _roster,
        on_tier_failure=failures.append,
    )
    receipt = await tier.deliver(from_outbox(ev))
    assert failures == [ev.alert.alert_id]
    assert receipt.ok  # done: the next tier's event has a notice of its own
    assert receipt.detail["reached"] == 0


async def test_a_raising_channel_is_recorded_as_a_failed_delivery_and_the_roster_down_retries() -> (
    None
):
    class Broken:
        name, personal, slow = "sms", True, True

        async def deliver(self, n: Notification) -> Receipt:
            raise RuntimeError("boom")

    recorded: list[Delivery] = []

    class Log:
        async def record(self, d: Delivery) -> None:
            recorded.append(d)

    tier = TierChannel([Broken()], _roster, deliveries=Log(), clock=lambda: T0)
    await tier.deliver(from_outbox(crisis_event()))
    assert (recorded[0].status, recorded[0].channel, recorded[0].error) == (
        "failed", "sms", "RuntimeError",
    )  # fmt: skip

    async def down(_tenant: str) -> Roster:
        raise OSError("roster store down")

    with pytest.raises(OSError, match="roster"):  # the outbox keeps the entry and tries again
        await TierChannel([Broken()], down).deliver(from_outbox(crisis_event()))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_messages_in_both_languages(lang: str) -> None:
    title, body = render_text(event_to_json(crisis_event()), lang)
    assert "p-001" in title
    assert "190/124" in body


async def test_apprise_channel_delivers_through_a_real_local_endpoint() -> None:
    """Apprise's `json://` plug-in stands in for an SMS/e-mail provider."""
    from gateway.notifiers import AppriseChannel

    with local_provider() as provider:
        sms = AppriseChannel("sms", provider.url("sms"))
        member = Member("dr.li", "demo", "Dr Li", lang="en")
        ev = crisis_event()
        n = Notification(idempotency_key(ev), ev, event_to_json(ev), member, "+86 138 0000 0001")
        receipt = await sms.deliver(n)
        # An address that is no phone number never reaches the provider.
        bad = Notification(n.key, ev, n.payload, member, "+86/../admin?x=1")
        refused = await sms.deliver(bad)
    got = provider.messages()
    assert receipt.ok, receipt.error
    assert not refused.ok
    assert len(got) == 1
    path, body = got[0]
    assert path == "/sms/+8613800000001"
    assert "New alert" in str(body["title"])
    assert "190/124" in str(body["message"])


@pytest.mark.parametrize(
    "address",
    [
        "x@y&smtp=127.0.0.1&mode=insecure&bcc=spy@evil",  # the injection seen in the field
        "a&bcc=spy@evil.test",  # RFC-legal local part that would add a URL parameter
        "dr.wang@example.org?bcc=spy@evil.test",
        "dr.wang@example.org\r\nBcc: spy@evil.test",
    ],
)
async def test_apprise_injection_is_refused_and_never_reaches_a_url(address: str) -> None:
    from gateway.notifiers import AppriseChannel
    from gateway.notifiers.addresses import InvalidAddressError, normalize_address

    with pytest.raises(InvalidAddressError):
        normalize_address("email", address)
    channel = AppriseChannel("email", "mailtos://user:smtp-pass@smtp.example.org?to={address}")
    ev = crisis_event()
    member = Member("dr.li", "demo", "Dr Li", lang="en")
    receipt = await channel.deliver(
        Notification(idempotency_key(ev), ev, event_to_json(ev), member, address)
    )
    assert not receipt.ok
    assert receipt.error is not None
    assert "smtp-pass" not in str(receipt)


def test_addresses_are_percent_encoded_into_provider_urls() -> None:
    from gateway.notifiers import AppriseChannel

    channel = AppriseChannel("email", "mailtos://u:p@smtp.example.org?to={address}&from=hmg")
    assert channel.url_for("dr.wang+oncall@example.org") == (
        "mailtos://u:p@smtp.example.org?to=dr.wang+oncall@example.org&from=hmg"
    )
    assert (
        channel.url_for("a&b=c@x.org")
        == "mailtos://u:p@smtp.example.org?to=a%26b%3Dc@x.org&from=hmg"
    )


def test_webhook_signatures_expire_after_five_minutes() -> None:
    body = b'{"event":"opened"}'
    ts = "1795996800"
    sig = sign("s3cret", ts, body)
    assert verify("s3cret", ts, body, sig, now=1795996800 + 299)
    assert not verify("s3cret", ts, body, sig, now=1795996800 + 301)  # replayed later
    assert not verify("s3cret", ts, body, sig, now=1795996800 - 301)
    assert not verify("s3cret", "not-a-time", body, sig, now=1795996800)
    assert not verify("s3cret", "1795996801", body, sig, now=1795996800)  # timestamp is signed


async def test_webhook_receipts_show_a_redacted_url() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    hook = WebhookChannel(
        "https://hooks.example.org/services/T000/B000/secret-token",
        "s3cret",
        transport=httpx.MockTransport(handler),
    )
    receipt = await hook.deliver(note(crisis_event()))
    assert receipt.ok
    assert receipt.target == "https://hooks.example.org/…"


def test_every_event_type_has_a_headline_in_both_languages() -> None:
    for lang, lines in HEADLINES.items():
        assert set(lines) == {t.value for t in EventType}, lang
