"""Alert latency under load: publish of a hypertensive-crisis reading -> its `opened` event.

    make bench-latency            # 1,000 and 2,000 devices, 60 s each
    .venv/bin/python -m bench.bench_latency --devices 1000 --duration 60 --crises 100

A real Mosquitto and the real gateway process (`hmg gateway`, SQLite, every detector) on free
ports. `--devices` background devices publish one reading a second each (BP, glucose, HR, SpO2
in turn); `--crises` cuff devices each send one elevated reading and, spread evenly through the
run, one crisis reading. A subscriber on the alert topic takes the time of each crisis alert's
`opened` event; a plain subscriber on the device topics (the broker-only control) takes the time
the broker delivered the same crisis reading. Both are wall-clock differences on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.timeparse import format_ts
from simulator.load import LoadConfig, run_load
from tests.support.servers import free_port, mosquitto_server, stop_process, wait_port

TENANT = "lat"
CODE = "bp.hypertensive_crisis"
CRISIS_SYSTOLIC = 196


class Watch:
    """Subscriber that notes when each crisis device's reading and alert arrive."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.broker: dict[str, float] = {}
        self.alert: dict[str, float] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-watch")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([(f"hm/v1/{TENANT}/+/bp", 0), (f"hm/alerts/v1/{TENANT}/#", 0)])
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        parts = msg.topic.split("/")
        if parts[0] == "hm" and parts[1] == "v1" and parts[3].startswith("crisis-"):
            if json.loads(msg.payload)["data"]["systolic"] == CRISIS_SYSTOLIC:
                with self.lock:
                    self.broker.setdefault(parts[3], now)
        elif parts[1] == "alerts":
            event = json.loads(msg.payload)
            if event.get("event") == "opened" and event["alert"]["code"] == CODE:
                with self.lock:
                    self.alert.setdefault(event["alert"]["patient_id"], now)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _bp(device: str, seq: int, s: int, d: int) -> bytes:
    return json.dumps(
        {"schema": "hm.reading/1", "device_id": device, "seq": seq,
         "ts": format_ts(datetime.now(UTC)), "kind": "bp", "patient_id": None,
         "data": {"systolic": s, "diastolic": d, "pulse": 88, "unit": "mmHg"}}
    ).encode()  # fmt: skip


def _crises(port: int, n: int, duration: float, sent: dict[str, float]) -> None:
    """Each crisis device: an elevated reading at once, its crisis reading at its turn."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-crisis")
    c.connect("127.0.0.1", port)
    c.loop_start()
    devices = [f"crisis-{k:03d}" for k in range(n)]
    for dev in devices:
        c.publish(f"hm/v1/{TENANT}/{dev}/bp", _bp(dev, 1, 168, 102), qos=1).wait_for_publish()
    t0 = time.monotonic()
    for k, dev in enumerate(devices):
        due = t0 + (k + 0.5) * (duration - 5.0) / n
        time.sleep(max(0.0, due - time.monotonic()))
        sent[dev] = time.time()
        c.publish(f"hm/v1/{TENANT}/{dev}/bp", _bp(dev, 2, CRISIS_SYSTOLIC, 124), qos=1)
    time.sleep(3.0)
    c.loop_stop()
    c.disconnect()


def _start_gateway(workdir: Path, mqtt_port: int) -> tuple[subprocess.Popen[bytes], int]:
    api_port = free_port()
    env = {
        **os.environ,
        "HMG_MODE": "test",
        "HMG_DATA_DIR": str(workdir / "data"),
        "HMG_MQTT_PORT": str(mqtt_port),
        "HMG_API_PORT": str(api_port),
        "HMG_AUTO_REGISTER": "true",
    }
    log = (workdir / "gateway.log").open("wb")
    hmg = Path(sys.executable).with_name("hmg")
    proc = subprocess.Popen([str(hmg), "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_port(api_port, timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ready", timeout=2) as r:
                if r.status == 200:
                    return proc, api_port
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gateway not ready")


def _pct(values: list[float]) -> str:
    if not values:
        return "no samples"
    ms = np.array(values) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {ms.max():.0f} ms"


def run(devices: int, duration: float, crises: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, mosquitto_server(Path(tmp) / "mq") as broker:
        proc, _ = _start_gateway(Path(tmp), broker.port)
        watch = Watch(broker.port)
        sent: dict[str, float] = {}
        try:
            crisis = threading.Thread(target=_crises, args=(broker.port, crises, duration, sent))
            crisis.start()
            summary = run_load(
                LoadConfig(
                    port=broker.port,
                    devices=devices,
                    rate=float(devices),
                    duration=duration,
                    clients=4,
                    tenant=TENANT,
                ),
                progress=None,
            )
            crisis.join()
            time.sleep(2.0)
        finally:
            watch.close()
            stop_process(proc)
    alert = [watch.alert[d] - t for d, t in sent.items() if d in watch.alert]
    broker_lat = [watch.broker[d] - t for d, t in sent.items() if d in watch.broker]
    return {
        "devices": devices,
        "load": summary.line(),
        "alerts": f"{len(alert)}/{len(sent)}",
        "gateway": _pct(alert),
        "broker": _pct(broker_lat),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, nargs="+", default=[1000, 2000])
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--crises", type=int, default=100)
    a = p.parse_args()
    for n in a.devices:
        r = run(n, a.duration, a.crises)
        print(f"{r['devices']} devices at 1 msg/s for {a.duration:.0f} s ({r['load']})")
        print(f"  publish -> opened alert: {r['gateway']} ({r['alerts']} crisis alerts)")
        print(f"  broker only (control):   {r['broker']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
