"""Alert latency under load: publish of a hypertensive-crisis reading -> its `opened` event.

    make bench-latency            # 1,000 and 2,000 devices, then 1,000 with 200 of them on ECG
    .venv/bin/python -m bench.bench_latency --devices 1000 --duration 60 --crises 100
    .venv/bin/python -m bench.bench_latency --devices 1000 --ecg 200 --profile /tmp/prof

A real Mosquitto and the real gateway process (`hmg gateway`, SQLite, every detector, MQTT alert
channel) on free ports. Each size runs two phases of `--duration` seconds on the same broker and
data directory:

- **onboarding**: every device is new to the gateway (auto-registration, fresh detectors);
- **steady state**: the gateway is restarted (orderly stop, detector snapshot) and the same
  devices go on (their sequence numbers continue).

Background devices publish one reading a second each from a child process at a lower CPU
priority (BP, glucose, HR, SpO2 in turn; with `--ecg N`, N of them stream 250 Hz ECG in 1-s
chunks instead). `--crises` cuff devices per phase
each send one elevated reading at the start of the onboarding phase and, spread evenly through
their phase, one crisis reading. A subscriber on the alert topic takes the time of each crisis
alert's `opened` event; a plain subscriber on the device topics (the broker-only control, same
run) takes the time the broker delivered the same crisis reading. Both are wall-clock differences
on one machine. Printed per phase: p50/p95/p99/p99.9/max, a per-second timeline (the slowest
crisis of each second, ms) and the 1-minute load average at the end of the phase (the machine is
shared). `--profile DIR` turns on asyncio's slow-callback log in the gateway (every callback or
task step holding the event loop over 50 ms is logged) and keeps the gateway's logs in DIR; with
`--spy` py-spy also samples the gateway (all threads, idle included) into DIR, per phase.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.timeparse import format_ts
from simulator.ecgstream import EcgStream
from simulator.load import LoadConfig, LoadSummary, run_load
from simulator.rhythm import RhythmPlan
from tests.support.servers import free_port, mosquitto_server, stop_process, wait_port

TENANT = "lat"
CODE = "bp.hypertensive_crisis"
CRISIS_SYSTOLIC = 196
ECG_FS = 250
PHASES = ("onboarding", "steady")


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


def crisis_devices(phase: str, n: int) -> list[str]:
    return [f"crisis-{phase[0]}{k:03d}" for k in range(n)]


def _crises(
    port: int, elevated: list[str], crises: list[str], duration: float, sent: dict[str, float]
) -> None:
    """An elevated reading from each of `elevated` at once; then each of `crises` sends its
    crisis reading at its turn."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-crisis")
    c.connect("127.0.0.1", port)
    c.loop_start()
    for dev in elevated:
        c.publish(f"hm/v1/{TENANT}/{dev}/bp", _bp(dev, 1, 168, 102), qos=1).wait_for_publish()
    t0 = time.monotonic()
    for k, dev in enumerate(crises):
        due = t0 + (k + 0.5) * (duration - 5.0) / len(crises)
        time.sleep(max(0.0, due - time.monotonic()))
        sent[dev] = time.time()
        c.publish(f"hm/v1/{TENANT}/{dev}/bp", _bp(dev, 2, CRISIS_SYSTOLIC, 124), qos=1)
    time.sleep(3.0)
    c.loop_stop()
    c.disconnect()


def ecg_signal(seconds: int) -> np.ndarray:
    """`seconds` of sinus-rhythm ECG at 250 Hz in ADC units (shared by every ECG device, each
    starting at its own offset)."""
    stream = EcgStream(ECG_FS, RhythmPlan(base_hr=72.0), seed=11)
    return np.concatenate([stream.chunk(k) for k in range(seconds)]).astype("<i2")


def _ecg(port: int, n: int, duration: float, first_seq: int, stop: threading.Event) -> None:
    """`n` ECG patches, each publishing one 1-s chunk a second (spread over the second)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-ecg-{first_seq}")
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    signal = ecg_signal(60)
    start = datetime.now(UTC).timestamp()
    t0 = time.monotonic()
    for sec in range(int(duration)):
        for k in range(n):
            if stop.is_set():
                break
            due = t0 + sec + k / n
            time.sleep(max(0.0, due - time.monotonic()))
            off = ((k * 7 + sec + first_seq) % 60) * ECG_FS
            dev = f"ecg-{k:04d}"
            payload = {
                "schema": "hm.reading/1", "device_id": dev, "seq": first_seq + sec,
                "ts": int((start + sec) * 1000), "kind": "ecg", "patient_id": None,
                "data": {"fs": ECG_FS, "lead": "II", "gain": 200.0,
                         "samples_b64": base64.b64encode(
                             signal[off : off + ECG_FS].tobytes()).decode()},
            }  # fmt: skip
            c.publish(f"hm/v1/{TENANT}/{dev}/ecg", json.dumps(payload).encode(), qos=1)
    time.sleep(1.0)
    c.loop_stop()
    c.disconnect()


class GatewayProcess:
    """`hmg gateway` on a data directory (restartable: the same directory is used again)."""

    def __init__(self, workdir: Path, mqtt_port: int, profile: Path | None, spy: bool) -> None:
        self.workdir = workdir
        self.mqtt_port = mqtt_port
        self.profile = profile
        self.use_spy = spy
        self.proc: subprocess.Popen[bytes] | None = None
        self.spy: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        api_port = free_port()
        env = {
            **os.environ,
            "HMG_MODE": "test",
            "HMG_DATA_DIR": str(self.workdir / "data"),
            "HMG_MQTT_PORT": str(self.mqtt_port),
            "HMG_API_PORT": str(api_port),
            "HMG_AUTO_REGISTER": "true",
        }
        if self.profile is not None:
            env["PYTHONASYNCIODEBUG"] = "1"
            env["HMG_SLOW_CALLBACK_MS"] = "50"
        log = (self.workdir / f"gateway-{self.starts}.log").open("wb")
        hmg = Path(sys.executable).with_name("hmg")
        self.proc = subprocess.Popen(
            [str(hmg), "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_port(api_port, timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{api_port}/ready"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        self._spy()
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gateway not ready")

    def _spy(self) -> None:
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if self.profile is None or not self.use_spy or spy is None or self.proc is None:
            return
        self.profile.mkdir(parents=True, exist_ok=True)
        out = self.profile / f"gateway-{self.starts}.speedscope.json"
        self.spy = subprocess.Popen(
            [spy, "record", "--pid", str(self.proc.pid), "--rate", "100", "--idle",
             "--format", "speedscope", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        stop_process(self.proc)
        if self.spy is not None:
            self.spy.wait(30)
            self.spy = None
        if self.profile is not None:
            self.profile.mkdir(parents=True, exist_ok=True)
            log = self.workdir / f"gateway-{self.starts}.log"
            shutil.copy(log, self.profile / log.name)


# The background devices publish from a process of their own at a lower CPU priority: on a
# two-core machine the harness's bulk traffic must neither hold the interpreter lock of the
# process that takes the alert and broker-control times nor take a core from the gateway under
# test (in production the devices are elsewhere). The rate it achieved is printed per phase.
LOAD_NICE = 10


def _load_child(cfg: LoadConfig, out: Connection) -> None:
    os.nice(LOAD_NICE)
    out.send(run_load(cfg, progress=None))
    out.close()


def background_load(cfg: LoadConfig) -> LoadSummary:
    """`run_load(cfg)` in a child process at `LOAD_NICE`; its summary."""
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_load_child, args=(cfg, send), name="bench-load")
    proc.start()
    send.close()
    try:
        summary: LoadSummary = recv.recv()
    except EOFError:
        raise RuntimeError(f"the load process failed (exit code {proc.exitcode})") from None
    finally:
        proc.join(30)
    return summary


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    devices: int
    ecg: int
    load: str
    alerts: int
    expected: int
    gateway: list[tuple[float, float]]  # (seconds into the phase, latency s) per crisis
    broker: list[float]
    loadavg: float


def run_phase(
    name: str,
    port: int,
    devices: int,
    ecg: int,
    duration: float,
    crises: int,
    first_seq: int,
) -> Phase:
    watch = Watch(port)
    sent: dict[str, float] = {}
    elevated = crisis_devices(PHASES[0], crises) + crisis_devices(PHASES[1], crises)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_crises,
            args=(
                port,
                elevated if name == PHASES[0] else [],
                crisis_devices(name, crises),
                duration,
                sent,
            ),
        ),
    ]
    if ecg:
        threads.append(threading.Thread(target=_ecg, args=(port, ecg, duration, first_seq, stop)))
    start = time.time()
    try:
        for t in threads:
            t.start()
        summary = background_load(
            LoadConfig(
                port=port,
                devices=devices - ecg,
                rate=float(devices - ecg),
                duration=duration,
                clients=4,
                tenant=TENANT,
                first_seq=first_seq,
            )
        )
        for t in threads:
            t.join()
        time.sleep(2.0)
    finally:
        stop.set()
        watch.close()
    lat = sorted((t - start, watch.alert[d] - t) for d, t in sent.items() if d in watch.alert)
    broker = [watch.broker[d] - t for d, t in sent.items() if d in watch.broker]
    return Phase(
        name, devices, ecg, summary.line(), len(lat), len(sent), lat, broker, os.getloadavg()[0]
    )


def run(
    devices: int, duration: float, crises: int, ecg: int, profile: Path | None, spy: bool
) -> list[Phase]:
    seq_step = int(duration) + 10
    with tempfile.TemporaryDirectory() as tmp, mosquitto_server(Path(tmp) / "mq") as broker:
        prof = profile / f"{devices}-ecg{ecg}" if profile is not None else None
        gw = GatewayProcess(Path(tmp), broker.port, prof, spy)
        out = []
        for k, name in enumerate(PHASES):
            gw.start()
            try:
                out.append(
                    run_phase(name, broker.port, devices, ecg, duration, crises, 1 + k * seq_step)
                )
            finally:
                gw.stop()
        return out


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ms = np.array(values) * 1000.0
    p50, p95, p99, p999 = np.percentile(ms, [50, 95, 99, 99.9])
    return (
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, p99.9 {p999:.0f} ms, "
        f"max {ms.max():.0f} ms"
    )


def timeline(points: list[tuple[float, float]], duration: float) -> list[str]:
    """The slowest crisis alert of each second of the phase (ms; '-' for none), 10 a line."""
    worst: dict[int, float] = {}
    for at, lat in points:
        worst[int(at)] = max(worst.get(int(at), 0.0), lat)
    cells = [f"{worst[s] * 1000:5.0f}" if s in worst else "    -" for s in range(int(duration))]
    return [
        f"    {s:3d}-{min(s + 9, len(cells) - 1):3d} s:{''.join(cells[s : s + 10])}"
        for s in range(0, len(cells), 10)
    ]


def report(phases: list[Phase], duration: float) -> None:
    for p in phases:
        what = f"{p.devices} devices" + (f" ({p.ecg} streaming ECG)" if p.ecg else "")
        print(f"{what}, {p.name}, 1 msg/s each for {duration:.0f} s ({p.load})")
        print(
            f"  publish -> opened alert: {percentiles([lat for _, lat in p.gateway])} "
            f"({p.alerts}/{p.expected} crisis alerts); load average {p.loadavg:.2f}"
        )
        print(f"  broker only (control):   {percentiles(p.broker)}")
        print("  per-second timeline (slowest crisis alert of each second, ms):")
        for line in timeline(p.gateway, duration):
            print(line)
    sys.stdout.flush()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, nargs="+", default=[1000, 2000])
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--crises", type=int, default=100)
    p.add_argument("--ecg", type=int, default=0, help="devices streaming 250 Hz ECG (of each size)")
    p.add_argument("--ecg-run", type=int, default=0, metavar="N",
                   help="then one more run of 1,000 devices with N of them on ECG")  # fmt: skip
    p.add_argument("--profile", type=Path, default=None, metavar="DIR")
    p.add_argument("--spy", action="store_true", help="with --profile: py-spy too")
    a = p.parse_args()
    runs = [(n, a.ecg) for n in a.devices]
    if a.ecg_run:
        runs.append((1000, a.ecg_run))
    for n, ecg in runs:
        report(run(n, a.duration, a.crises, ecg, a.profile, a.spy), a.duration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
