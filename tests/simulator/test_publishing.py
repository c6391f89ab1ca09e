"""Against a real Mosquitto: publisher caps, reconnects, CLI live runs and load mode."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulator.cli import main
from simulator.load import LoadConfig, run_load
from simulator.publisher import Publisher, PublishError
from simulator.scenario import library
from tests.support.servers import Mosquitto, free_port

pytestmark = pytest.mark.integration


class Collector:
    """Subscribes to hm/v1/# and keeps (topic, payload) in arrival order."""

    def __init__(self, port: int) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="collector")
        self.client.on_connect = lambda c, *_: c.subscribe("hm/v1/#", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(5)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.got.append((msg.topic, bytes(msg.payload)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_publisher_caps_inflight_and_counts(mosquitto: Mosquitto) -> None:
    pub = Publisher("127.0.0.1", mosquitto.port, client_id="cap", qos=1, max_inflight=5)
    pub.connect()
    seen = []
    for i in range(500):
        pub.publish("hm/v1/t/d/hr", b"%d" % i)
        seen.append(pub.stats.inflight)
    assert pub.flush(10)
    pub.close()
    assert max(seen) <= 5
    s = pub.stats
    assert (s.sent, s.acked, s.errors, s.inflight) == (500, 500, 0, 0)


def test_publisher_survives_broker_restart(mosquitto: Mosquitto) -> None:
    pub = Publisher("127.0.0.1", mosquitto.port, client_id="restart", qos=1)
    pub.connect()
    for _ in range(50):
        pub.publish("hm/v1/t/d/hr", b"x")
    assert pub.flush(10)
    mosquitto.restart()
    for _ in range(50):
        pub.publish("hm/v1/t/d/hr", b"y")
    assert pub.flush(20)
    pub.close()
    assert pub.stats.acked == 100
    assert pub.stats.reconnects >= 1


def test_connect_failure_is_an_error() -> None:
    pub = Publisher("127.0.0.1", free_port(), client_id="nobody", connect_timeout=1.0)
    with pytest.raises(PublishError):
        pub.connect()


def test_cli_scenario_live_matches_record(mosquitto: Mosquitto, tmp_path: Path) -> None:
    col = Collector(mosquitto.port)
    path = next(p for p in library() if p.stem == "faults_mixed")
    out = tmp_path / "sent.jsonl"
    rc = main(["scenario", str(path), "--port", str(mosquitto.port), "--speed", "0",
               "--record-to", str(out), "--start", "2026-11-22T00:00:00Z"])  # fmt: skip
    assert rc == 0
    sent_n = len(out.read_text().splitlines())
    deadline = time.monotonic() + 5
    while len(col.got) < sent_n and time.monotonic() < deadline:
        time.sleep(0.05)  # broker acks precede delivery to subscribers
    time.sleep(0.2)
    col.close()
    sent = [json.loads(x) for x in out.read_text().splitlines()]

    # QoS 1 is at-least-once: the broker disconnect in this scenario may re-deliver a few.
    def raw(p: object) -> bytes:
        return p.encode() if isinstance(p, str) else json.dumps(p, separators=(",", ":")).encode()

    want = Counter((s["topic"], raw(s["payload"])) for s in sent)
    got = Counter(col.got)
    assert len(sent) > 50
    assert all(got[k] >= n for k, n in want.items())
    assert set(got) == set(want)
    assert len(col.got) - len(sent) <= 100  # at most the in-flight window re-sent


def test_load_mode_sustains_rate(mosquitto: Mosquitto) -> None:
    cfg = LoadConfig(port=mosquitto.port, devices=10_000, rate=1500.0, duration=4.0, clients=2)
    summary = run_load(cfg, progress=None)
    assert summary.errors == 0
    assert summary.acked == summary.sent == 6000
    assert summary.rate >= 0.9 * cfg.rate
