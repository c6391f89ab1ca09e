"""At-least-once notification through SIGKILLs: a real Mosquitto, a real webhook receiver
process and the real gateway process, killed at random points while 100 crisis alerts are
raised. After the last restart every crisis alert's webhook and MQTT notification has arrived at
least once, every copy of one alert's notification carries the same delivery id, none is lost.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.model import utcnow
from tests.integration.test_faults import (
    TENANT,
    GatewayProcess,
    Message,
    crisis_openings,
    publish,
    stream,
    wait_until,
)
from tests.support import webhook_receiver
from tests.support.servers import Mosquitto, stop_process, wait_port
from tests.support.wire import v1

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CRISES = 100
CODE = "bp.hypertensive_crisis"
SECRET = "hook-secret-for-the-fault-test"


class AlertWatch:
    """A subscriber on the alert topics: (patient, delivery id) of each crisis `opened`."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-watch")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"hm/alerts/v1/{TENANT}/#", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        doc = json.loads(msg.payload)
        if doc["event"] == "opened" and doc["alert"]["code"] == CODE:
            with self.lock:
                self.seen.append((doc["alert"]["patient_id"], doc["delivery_id"]))

    def patients(self) -> set[str]:
        with self.lock:
            return {p for p, _ in self.seen}

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def received(out: Path) -> list[dict[str, object]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def hooked(out: Path) -> set[str]:
    """Patients whose crisis `opened` the receiver accepted (answered 200)."""
    return {
        str(r["patient_id"])
        for r in received(out)
        if r["event"] == "opened" and r["code"] == CODE and r["status"] == 200
    }


def check_notified(watch: AlertWatch, out: Path, patients: set[str], headline: str) -> None:
    """Every crisis of `patients` notified on MQTT and the webhook (signed), every copy of one
    alert's notification with the same delivery id; the figures go out after `headline`."""
    hooks = [r for r in received(out) if r["event"] == "opened" and r["code"] == CODE]
    ids: dict[str, set[str]] = defaultdict(set)
    for patient, delivery_id in watch.seen:
        ids[patient].add(delivery_id)
    for r in hooks:
        assert r["signed"], r
        assert r["key"] == r["delivery_id"]
        ids[str(r["patient_id"])].add(str(r["delivery_id"]))
    sys.stdout.write(
        f"\n{headline}"
        f"MQTT {len(watch.seen)} deliveries for {len(watch.patients())} alerts, "
        f"webhook {len(hooks)} POSTs ({sum(r['status'] == 503 for r in hooks)} answered 503) "
        f"for {len(hooked(out))} alerts\n"
    )
    assert watch.patients() == patients  # 0 lost on MQTT (the alert topic)
    assert hooked(out) == patients  # 0 lost on the webhook
    # Duplicates are the same delivery, with the same id on every channel.
    assert {p: len(v) for p, v in ids.items() if len(v) != 1} == {}


def crises() -> list[Message]:
    now = utcnow()
    data = {"systolic": 194, "diastolic": 124, "pulse": 80, "unit": "mmHg"}
    return [
        (f"hm/v1/{TENANT}/cuff-{k:03d}/bp", v1(f"cuff-{k:03d}", "bp", 1, data, now))
        for k in range(CRISES)
    ]


def test_sigkill_while_crises_are_raised_loses_no_notification(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    seed = int(os.environ.get("HMG_FAULT_SEED", "20261204"))
    rnd = random.Random(seed)
    out = tmp_path / "webhook.jsonl"
    hook_port, receiver = webhook_receiver.start(out, SECRET, 0.2)
    watch = AlertWatch(mosquitto.port)
    gw = GatewayProcess(mosquitto, tmp_path / "gw")
    gw.env["HMG_WEBHOOK_URL"] = f"http://127.0.0.1:{hook_port}/hook"
    gw.env["HMG_WEBHOOK_SECRET"] = SECRET
    try:
        wait_port(hook_port)
        gw.start()
        # Crisis readings spread through a stream of routine ones, published while the gateway
        # is killed at random points and started again.
        alarms = crises()
        routine = stream(2000)
        step = len(routine) // CRISES
        mixed = [m for k, c in enumerate(alarms) for m in (c, *routine[k * step : (k + 1) * step])]
        chunks = [mixed[i : i + 105] for i in range(0, len(mixed), 105)]
        kills = sorted(rnd.sample(range(1, len(chunks)), 3))
        for i, chunk in enumerate(chunks):
            publish(mosquitto.port, chunk)
            if i in kills:
                time.sleep(rnd.uniform(0.0, 0.8))  # somewhere in detection, storing or sending
                gw.kill()
                gw.start()
            else:
                time.sleep(0.2)
        patients = {f"cuff-{k:03d}" for k in range(CRISES)}
        wait_until(
            lambda: watch.patients() >= patients and hooked(out) >= patients,
            120,
            "every crisis notified on MQTT and the webhook",
        )
    finally:
        watch.close()
        gw.terminate()
        stop_process(receiver)

    check_notified(
        watch, out, patients, f"notification faults (seed {seed}, kills after chunks {kills}): "
    )
    assert crisis_openings(tmp_path / "gw" / "hmg.db") == sorted(patients)  # raised once each
