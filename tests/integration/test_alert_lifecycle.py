"""The alert lifecycle through the live gateway on virtual time: escalation tiers, a restart in
the middle, acknowledgement and referral through the API, signed webhook deliveries to a real
local HTTP server that fails once, and auto-resolve."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.model import EventType
from devices.registry import Binding, Device
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.flow.intake import Inbound
from gateway.notifiers import NotifierConfig, verify
from gateway.policies import load_policy
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import Patient
from tests.support.auth import auth_headers
from tests.support.wire import v1

pytestmark = pytest.mark.integration

POLICY = load_policy(Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml")
SECRET = "test-webhook-secret"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 18:00 at +08:00, outside quiet hours


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


@dataclass
class Receiver:
    """A webhook receiver: answers 503 to the first attempt of each delivery, then 200."""

    port: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            key = headers["idempotency-key"]
            with rec.lock:
                rec.requests.append((headers, body))
                rec.seen[key] = rec.seen.get(key, 0) + 1
                first = rec.seen[key] == 1
                if not first and key not in rec.delivered:  # de-duplicate by key
                    rec.delivered[key] = json.loads(body)
            self.send_response(503 if first else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"receipt": key}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def bp(seq: int, at: datetime, sys_: int, dia: int) -> Inbound:
    data = {"systolic": sys_, "diastolic": dia, "unit": "mmHg"}
    return Inbound("hm/v1/demo/cuff-1/bp", v1("cuff-1", "bp", seq, data, at), at)


def make_gateway(tmp_path: Path, clock: Clock, receiver: Receiver) -> Gateway:
    settings = Settings(mode="test", data_dir=tmp_path, tick_interval_s=3600)
    notifiers = NotifierConfig(
        enabled=("mqtt", "sse", "webhook"),
        webhooks=((receiver.url, SECRET),),
        webhook_backoff_s=0.01,
    )
    return Gateway(settings, clock=clock, policies={"demo": POLICY}, notifiers=notifiers)


async def test_escalation_restart_ack_referral_webhooks_and_auto_resolve(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = Clock(T0)
    gw = make_gateway(tmp_path, clock, receiver)
    await gw.start(mqtt=False)
    dev = Device("cuff-1", "demo", "bp", bindings=(Binding("p-001", T0 - timedelta(days=1)),))
    await gw.stores.patients.save_device(dev, T0)
    gw.registry.put(dev)

    # Repeated abnormal readings: one alert.
    events = []
    for seq, minute in enumerate((0, 1, 2), 1):
        result = await gw.pipeline.handle([bp(seq, clock.at(minute), 192, 124)])
        events += result.events
    assert [e.event for e in events] == [EventType.OPENED, EventType.UPDATED, EventType.UPDATED]
    alert_id = events[0].alert.alert_id

    clock.at(9.9)
    assert await gw.pipeline.tick() == []
    clock.at(10)
    tier1 = await gw.pipeline.tick()
    assert [(e.event, e.alert.escalation_tier) for e in tier1] == [(EventType.ESCALATED, 1)]
    await gw.stop()

    # Restart: the alert and its pending escalation come back from SQLite.
    gw = make_gateway(tmp_path, clock, receiver)
    await gw.start(mqtt=False)
    timer = gw.desk.timer(alert_id)
    assert timer is not None
    assert (timer.tier, timer.due_at) == (1, T0 + timedelta(minutes=20))
    clock.at(20)
    tier2 = await gw.pipeline.tick()
    assert [e.escalation.tier_name for e in tier2 if e.escalation] == ["emergency"]

    app = create_app(gateway=gw)
    # The test's clock runs an hour on: tokens that last that long.
    wang = auth_headers(
        app, Role.CLINICIAN, "demo", "dr.wang", client_id="ward-tablet-7", ttl_s=3600
    )
    er = auth_headers(app, Role.CLINICIAN, "demo", "er.zhao", ttl_s=3600)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=wang
    ) as c:
        clock.at(21)
        r = await c.post(
            f"/alerts/{alert_id}/ack",
            json={"comment": "calling the patient"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged"
        clock.at(40)
        assert await gw.pipeline.tick() == []  # acknowledged: no more tiers

        clock.at(42)
        r = await c.post(
            f"/alerts/{alert_id}/refer",
            json={
                "target_org": "City No.1 Hospital",
                "department": "Cardiology",
                "reason": "Hypertensive crisis not controlled at home",
                "urgency": "stat",
                "green_channel": True,
            },
        )
        assert r.status_code == 201, r.text
        referral_id = r.json()["referral_id"]
        fhir = (await c.get(f"/referrals/{referral_id}/fhir")).json()
        assert fhir["resourceType"] == "ServiceRequest"
        assert fhir["status"] == "active"
        assert fhir["priority"] == "stat"
        assert fhir["subject"] == {"reference": "Patient/p-001"}
        assert any(s["reference"].startswith("Observation/cuff-1-") for s in fhir["supportingInfo"])
        r = await c.post(f"/referrals/{referral_id}/accept", json={}, headers=er)
        assert r.json()["state"] == "accepted"
        r = await c.post(f"/referrals/{referral_id}/decline", json={}, headers=er)
        assert r.status_code == 200
        assert (
            await c.post(f"/referrals/{referral_id}/complete", json={}, headers=er)
        ).status_code == 409

        await c.post(f"/alerts/{alert_id}/comment", json={"text": "BP 170/100"})
        audit = (await c.get(f"/alerts/{alert_id}/audit")).json()
        trail = [(a["action"], a["by"]) for a in audit]
        assert trail[:5] == [
            ("opened", None),
            ("updated", None),
            ("updated", None),
            ("escalated", None),
            ("escalated", None),
        ]
        assert ("acknowledged", "dr.wang") in trail
        assert ("referred", "dr.wang") in trail
        assert ("comment", "dr.wang") in trail
        ack_entry = next(a for a in audit if a["action"] == "acknowledged")
        assert ack_entry["client"].startswith("ward-tablet-7@")  # the token's client, the peer
        listed = (
            await c.get("/alerts", params={"patient_id": "p-001", "state": "referred"})
        ).json()
        assert [a["alert_id"] for a in listed] == [alert_id]

        # Resolve by hand (detector state does not survive a restart, so the auto-resolve
        # case is in the next test); the timer goes with the alert.
        r = await c.post(f"/alerts/{alert_id}/resolve", json={})
        assert r.json()["state"] == "resolved"
    assert gw.desk.timer(alert_id) is None
    assert alert_id not in {t.alert_id for t in await gw.stores.timers.load()}

    # Webhooks (through the outbox): every event delivered once, signed, after one transient
    # failure each.
    await gw.notifications.drain()
    assert receiver.requests
    for headers, body in receiver.requests:
        assert verify(SECRET, headers["x-hmg-timestamp"], body, headers["x-hmg-signature"])
    assert set(receiver.seen.values()) == {2}  # 503 then 200, never a third attempt
    kinds = [d["event"] for d in receiver.delivered.values()]
    for kind in ("opened", "escalated", "acknowledged", "referred", "resolved"):
        assert kind in kinds
    assert len(receiver.delivered) == len(set(receiver.delivered))
    deliveries = await gw.stores.deliveries.of_alert(alert_id)
    hooks = [d for d in deliveries if d.channel == "webhook"]
    assert hooks
    assert all(d.status == "delivered" and d.attempts == 2 for d in hooks)
    assert all(d.receipt["body"]["receipt"] == d.key for d in hooks)
    await gw.stop()


async def test_living_alone_patient_escalates_faster_in_the_gateway(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = Clock(T0)
    gw = make_gateway(tmp_path, clock, receiver)
    await gw.start(mqtt=False)
    dev = Device("cuff-1", "demo", "bp", bindings=(Binding("p-001", T0 - timedelta(days=1)),))
    await gw.stores.patients.save_device(dev, T0)
    await gw.stores.patients.save_patient(Patient("p-001", "demo", T0, lives_alone=True))
    await gw.refresh_patient_flags()
    gw.registry.put(dev)
    await gw.pipeline.handle([bp(1, clock.at(0), 195, 125)])
    clock.at(5)
    (event,) = await gw.pipeline.tick()
    assert event.escalation is not None
    assert event.escalation.tier_name == "emergency_contact"
    assert event.escalation.context == ("lives_alone",)
    alert_id = event.alert.alert_id
    assert alert_id in {t.alert_id for t in await gw.stores.timers.load()}

    # Auto-resolve when readings are back to normal; the timer goes with it.
    resolved = []
    for seq, minute in ((2, 6), (3, 7)):
        resolved += (await gw.pipeline.handle([bp(seq, clock.at(minute), 128, 80)])).events
    assert [e.event for e in resolved][-1] is EventType.RESOLVED
    await gw.pipeline.tick()
    assert gw.desk.timer(alert_id) is None
    assert alert_id not in {t.alert_id for t in await gw.stores.timers.load()}
    await gw.notifications.drain()
    await gw.stop()


async def test_rosters_are_editable_through_the_api_and_audited(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = Clock(T0)
    gw = make_gateway(tmp_path, clock, receiver)
    await gw.start(mqtt=False)
    await gw.stores.patients.save_patient(
        Patient("p-001", "demo", T0, care_team="fd-1", lives_alone=True)
    )
    app = create_app(gateway=gw)
    admin = auth_headers(app, Role.ADMIN, "demo", "admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin
    ) as c:
        for mid, lang, phone in (
            ("dr.li", "zh-CN", "+8613800000001"),
            ("dr.chen", "en", "+8613800000002"),
        ):
            r = await c.put(
                f"/rosters/members/{mid}",
                json={"name": mid, "lang": lang,
                      "contacts": [{"channel": "sms", "address": phone}]},
            )  # fmt: skip
            assert r.status_code == 200, r.text
        injected = "x@y&smtp=127.0.0.1&mode=insecure&bcc=spy@evil"
        bad = await c.put(
            "/rosters/members/dr.evil",
            json={"name": "x",
                  "contacts": [{"channel": "email", "address": injected}]},
        )  # fmt: skip
        assert bad.status_code == 422
        assert "spy@evil" not in bad.text  # refused, and not echoed back
        bad = await c.put(
            "/rosters/teams/fd-1",
            json={"name": "FD", "members": ["nobody"]},
        )
        assert bad.status_code == 422
        r = await c.put(
            "/rosters/teams/fd-1",
            json={"name": "FD", "members": ["dr.li"]},
        )
        assert r.status_code == 200
        r = await c.put(
            "/rosters/rotations/oncall",
            json={"team_id": "fd-1",
                  "members": ["dr.li", "dr.chen"], "start": "2026-11-22T00:00:00Z",
                  "shift_hours": 8},
        )  # fmt: skip
        assert r.json()["on_call_now"] == "dr.chen"  # 10:00 is in the second 8 h shift
        on_call = (
            await c.get("/rosters/rotations/oncall/on-call", params={"at": "2026-11-22T17:00:00Z"})
        ).json()
        assert on_call["member_id"] == "dr.li"
        r = await c.put(
            "/rosters/patients/p-001/emergency-contacts",
            json={"contacts": [{"name": "Daughter", "relation": "daughter",
                  "contacts": [{"channel": "sms", "address": "+8613900000003"}]}]},
        )  # fmt: skip
        assert r.status_code == 200
        roster = await gw.stores.rosters.roster("demo")
        people = roster.resolve(
            ["patient:care_team", "patient:emergency_contact", "rotation:oncall"], "p-001", T0
        )
        assert [p.name for p in people] == ["dr.li", "Daughter", "dr.chen"]
        auditor = auth_headers(app, Role.AUDITOR, "demo")
        audit = (await c.get("/audit", params={"actor": "admin"}, headers=auditor)).json()
        assert sorted(a["subject_type"] for a in audit["entries"]) == [
            "emergency_contacts", "member", "member", "rotation", "team",
        ]  # fmt: skip
        assert (await c.delete("/rosters/rotations/oncall")).status_code == 204
    await gw.stop()
