"""Emergency calls through a real Mosquitto and the real gateway: an SOS opens `emergency.sos` on
the alert topic within a second of its publish; a fall cancelled in time is resolved and recorded;
bad events are dead-lettered with their reason and kept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.model import utcnow
from devices.registry import Binding, Device
from devices.timeparse import format_ts
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.servers import Mosquitto
from tests.support.wire import v1

pytestmark = [pytest.mark.integration]


class AlertTopic:
    """A subscriber on the alert topic that notes when each alert event arrives."""

    def __init__(self, port: int) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-watch")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("hm/alerts/v1/#", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.events.append((time.monotonic(), json.loads(msg.payload)))

    def find(self, event: str, code: str) -> tuple[float, dict[str, Any]] | None:
        with self._lock:
            return next(
                ((t, e) for t, e in self.events
                 if e["event"] == event and e["alert"]["code"] == code),
                None,
            )  # fmt: skip

    async def wait(
        self, event: str, code: str, seconds: float = 10.0
    ) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            hit = self.find(event, code)
            if hit is not None:
                return hit
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event} {code} on the alert topic")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def start(
    mosquitto: Mosquitto, tmp_path: Path, *, policies: Path | None = None, register: bool = True
) -> Gateway:
    settings = Settings(
        mode="test", data_dir=tmp_path, mqtt_port=mosquitto.port, mqtt_client_id="gw-emergency",
        tick_interval_s=0.5, policies=policies,
    )  # fmt: skip
    gw = Gateway(settings)
    await gw.start()
    if not register:
        assert gw.ingest is not None
        assert await gw.ingest.wait_connected(10)
        return gw
    now = utcnow()
    for dev, retired in (("pendant-1", None), ("watch-1", None), ("pendant-old", now)):
        d = Device(dev, "t1", "event", retired_at=retired,
                   bindings=(Binding("p-001", now - timedelta(days=1)),))  # fmt: skip
        await gw.stores.patients.save_device(d, now - timedelta(days=1))
        gw.registry.put(d)
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)
    return gw


def publisher(port: int) -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-emergency")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def event(device: str, seq: int, data: dict[str, Any], delay_s: float = 0.0) -> tuple[str, bytes]:
    ts = format_ts(utcnow() + timedelta(seconds=delay_s))
    return f"hm/v1/t1/{device}/event", v1(device, "event", seq, data, ts)


async def test_sos_opens_within_a_second_and_a_cancelled_fall_is_recorded(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    gw = await start(mosquitto, tmp_path)
    alerts = AlertTopic(mosquitto.port)
    pub = publisher(mosquitto.port)
    try:
        await asyncio.sleep(0.3)  # the watcher's subscription is in place
        topic, payload = event("pendant-1", 1, {"type": "sos", "location": {"room": "bedroom"}})
        sent = time.monotonic()
        pub.publish(topic, payload, qos=1)
        at, opened = await alerts.wait("opened", "emergency.sos")
        assert at - sent < 1.0, f"SOS took {at - sent:.3f} s to open"
        assert opened["alert"]["patient_id"] == "p-001"
        assert opened["alert"]["evidence"]["event"]["location"] == {"room": "bedroom"}

        pub.publish(*event("watch-1", 1, {"type": "fall", "confidence": 0.7}), qos=1)
        await alerts.wait("opened", "emergency.fall")
        pub.publish(*event("watch-1", 2, {"type": "cancel", "ref_seq": 1}, 1.0), qos=1)
        _, resolved = await alerts.wait("resolved", "emergency.fall")
        assert "cancel" in resolved["alert"]["evidence"]
        events = await gw.stores.alerts.events(resolved["alert"]["alert_id"])
        assert [e.event.value for e in events] == ["opened", "resolved"]
        assert events[-1].detail == {"outcome": "cancelled"}
    finally:
        pub.loop_stop()
        pub.disconnect()
        alerts.close()
        await gw.stop()


async def test_bad_events_are_dead_lettered_with_their_reason(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    gw = await start(mosquitto, tmp_path)
    pub = publisher(mosquitto.port)
    try:
        bad = [
            event("pendant-1", 5, {"type": "earthquake"}),
            event("pendant-1", 6, {"type": "cancel", "ref_seq": 4}),
            event("pendant-old", 7, {"type": "sos"}),
            event("watch-1", 8, {"type": "help_arrived"}),  # nobody called for help
        ]
        for topic, payload in bad:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        for _ in range(200):
            if await gw.stores.deadletters.count() >= len(bad):
                break
            await asyncio.sleep(0.05)
        letters = await gw.stores.deadletters.query(tenant="t1")
        assert sorted(d.reason for d in letters) == [
            "retired_device", "schema", "unknown_ref", "unknown_ref",
        ]  # fmt: skip
        assert {d.payload for d in letters} == {p for _, p in bad}  # kept as sent
    finally:
        pub.loop_stop()
        pub.disconnect()
        await gw.stop()


def fast_policy(tmp_path: Path) -> Path:
    """The example policy for tenant t1 with the loop's times in seconds (the test's clock is
    the real one)."""
    example = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"
    text = example.read_text(encoding="utf-8").replace('tenant = "demo"', 'tenant = "t1"')
    text = text.replace('answer = "60s"', 'answer = "2s"').replace(
        'arrival = "30m"', 'arrival = "3s"'
    )
    text = text.replace('arrival_repeat = "10m"', 'arrival_repeat = "2s"')
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def reasons(alerts: AlertTopic, alert_id: str) -> list[str]:
    """Each event of the alert on the topic: an escalation's reason, else the event's name."""
    return [
        e.get("detail", {}).get("escalation", {}).get("reason", e["event"])
        for _, e in list(alerts.events)
        if e["alert"]["alert_id"] == alert_id
    ]


async def until_reason(alerts: AlertTopic, alert_id: str, reason: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while reason not in reasons(alerts, alert_id):
        assert time.monotonic() < deadline, (
            f"no {reason} for {alert_id}: {reasons(alerts, alert_id)}"
        )
        await asyncio.sleep(0.1)


async def test_an_sos_is_answered_dispatched_attended_and_its_timers_survive_a_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    from alerts.emergency import Dispatch, Responder
    from gateway.actor import Actor, Role

    policy = fast_policy(tmp_path)
    gw = await start(mosquitto, tmp_path, policies=policy)
    alerts = AlertTopic(mosquitto.port)
    pub = publisher(mosquitto.port)
    op = Actor("op.wu", Role.CLINICIAN, "t1", "test")
    try:
        await asyncio.sleep(0.3)
        pub.publish(*event("pendant-1", 11, {"type": "sos"}), qos=1)
        _, opened = await alerts.wait("opened", "emergency.sos")
        call = opened["alert"]["alert_id"]
        # Nobody answers: the next tier and the emergency contacts, at the answer deadline.
        _, missed = await alerts.wait("escalated", "emergency.sos", 6)
        esc = missed.get("detail", {})["escalation"]
        assert esc["reason"] == "answer_missed"
        assert "patient:emergency_contact" in esc["targets"]
        # Answered, help sent with an expected arrival: raised again when nobody confirms it.
        await gw.actions.acknowledge(op, call)
        going = Dispatch(Responder.COMMUNITY, "Li Ming", None, utcnow() + timedelta(seconds=2))
        await gw.actions.dispatch(op, call, going)
        await alerts.wait("dispatched", "emergency.sos")
        await until_reason(alerts, call, "no_arrival", 8)
        # The responder's button on the home unit ends the loop.
        pub.publish(*event("pendant-1", 12, {"type": "help_arrived"}), qos=1)
        _, arrived = await alerts.wait("arrived", "emergency.sos")
        assert arrived["alert"]["state"] == "arrived"
        assert gw.desk.timer(call) is None
        before = len(reasons(alerts, call))
        await asyncio.sleep(3)
        assert len(reasons(alerts, call)) == before  # nothing more after arrival
        # A second call is answered, then the gateway goes down: its timer fires after restart.
        pub.publish(*event("pendant-1", 13, {"type": "sos"}), qos=1)
        await asyncio.sleep(0.5)
        second = next(
            e["alert"]["alert_id"]
            for _, e in list(alerts.events)
            if e["event"] == "opened" and e["alert"]["alert_id"] != call
        )
        await gw.actions.acknowledge(op, second)
        await gw.stop()
        gw = await start(mosquitto, tmp_path, policies=policy, register=False)
        timer = gw.desk.timer(second)
        assert timer is not None
        assert timer.reason == "arrival"
        await until_reason(alerts, second, "no_arrival", 8)
        events = [e.event.value for e in await gw.stores.alerts.events(call)]
        assert events[:2] == ["opened", "escalated"]
        assert "acknowledged" in events
        assert events.index("dispatched") < events.index("arrived")
    finally:
        pub.loop_stop()
        pub.disconnect()
        alerts.close()
        await gw.stop()


def test_an_open_call_s_answer_deadline_fires_on_time_after_the_gateway_is_killed(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """SIGKILL a real gateway process a moment after an SOS opened: the restarted gateway raises
    the missed answer at the deadline (or at once, if the deadline passed while it was down)."""
    from tests.integration.test_faults import GatewayProcess, wait_until

    answer_s = 8.0
    policy = fast_policy(tmp_path)
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('answer = "2s"', f'answer = "{answer_s:g}s"'),
        encoding="utf-8",
    )
    gw = GatewayProcess(mosquitto, tmp_path / "gw")
    gw.env["HMG_POLICIES"] = str(policy)
    gw.env["HMG_TICK_INTERVAL_S"] = "0.5"
    alerts = AlertTopic(mosquitto.port)
    pub = publisher(mosquitto.port)
    try:
        gw.start()
        pub.publish(*event("pendant-9", 1, {"type": "sos"}), qos=1)
        wait_until(lambda: alerts.find("opened", "emergency.sos") is not None, 10, "SOS opened")
        hit = alerts.find("opened", "emergency.sos")
        assert hit is not None
        opened_at, opened = hit
        call = opened["alert"]["alert_id"]
        gw.kill()
        killed_at = time.monotonic()
        assert killed_at - opened_at < answer_s / 2, "killed too late to test the restart"
        assert alerts.find("escalated", "emergency.sos") is None
        gw.start()
        back_at = time.monotonic()
        wait_until(
            lambda: "answer_missed" in reasons(alerts, call), answer_s + 10, "missed answer raised"
        )
        raised_at = next(
            t for t, e in list(alerts.events)
            if e["alert"]["alert_id"] == call
            and e.get("detail", {}).get("escalation", {}).get("reason") == "answer_missed"
        )  # fmt: skip
        due = opened_at + answer_s
        assert raised_at >= due - 0.5, "raised before its deadline"
        assert raised_at <= max(due, back_at) + 2.0, (
            f"raised {raised_at - max(due, back_at):.1f} s late after restart"
        )
    finally:
        pub.loop_stop()
        pub.disconnect()
        alerts.close()
        gw.terminate()
