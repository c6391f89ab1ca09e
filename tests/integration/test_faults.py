"""Fault tests against a real Mosquitto (persistence on): every one asserts exact counts.

1. the gateway (a real subprocess) is SIGKILLed mid-stream and restarted: exactly N stored;
2. the broker restarts mid-stream: the gateway reconnects, nothing is lost;
3. the readings store is down for a while: nothing is acknowledged until it is back, nothing lost,
   and the gateway stops taking messages (bounded in-flight work) meanwhile;
4. malformed, oversized, truncated, wrong-unit, spoofed and random-byte payloads between good
   ones: every good reading stored, every bad one dead-lettered with its reason, still running.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.model import Reading, utcnow
from devices.registry import Binding, Device
from devices.timeparse import format_ts
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import Database, SqlReadingStore, StoreUnavailableError
from tests.support.auth import auth_headers
from tests.support.servers import Mosquitto, free_port
from tests.support.wire import v1

pytestmark = [pytest.mark.integration, pytest.mark.slow]


REPO = Path(__file__).resolve().parents[2]
TENANT = "t1"
Message = tuple[str, bytes]


def reading(device: str, seq: int, ts: datetime, kind: str = "hr") -> Message:
    data: dict[str, object]
    if kind == "bp":
        data = {"systolic": 120 + seq % 20, "diastolic": 80, "unit": "mmHg"}
    else:
        data = {"value": 60 + seq % 30}
    return f"hm/v1/{TENANT}/{device}/{kind}", v1(device, kind, seq, data, ts)


def stream(n: int, devices: int = 20) -> list[Message]:
    """N distinct readings (device, seq unique), current timestamps."""
    now = utcnow()
    return [
        reading(f"hr-{i % devices:02d}", i // devices, now - timedelta(milliseconds=n - i))
        for i in range(n)
    ]


def publish(port: int, messages: Sequence[Message], client_id: str = "fault-pub") -> None:
    """Publish at QoS 1 and wait until the broker has acknowledged every message."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    c.max_inflight_messages_set(500)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        infos = [c.publish(t, p, qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(60)
            assert info.is_published()
    finally:
        c.disconnect()
        c.loop_stop()


def db_counts(db: Path) -> tuple[int, int]:
    """(rows, distinct (device_id, seq)) in the readings table of a gateway's SQLite file."""
    if not db.exists():
        return 0, 0
    con = sqlite3.connect(db, timeout=30)
    try:
        row = con.execute(
            "SELECT count(*), count(DISTINCT device_id || ':' || seq) FROM readings"
        ).fetchone()
    except sqlite3.OperationalError:  # schema not created yet
        return 0, 0
    finally:
        con.close()
    return int(row[0]), int(row[1])


def wait_until(pred: object, seconds: float, what: str) -> None:
    assert callable(pred)
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


async def await_until(pred: object, seconds: float, what: str) -> None:
    assert callable(pred)
    deadline = time.monotonic() + seconds
    while not await pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


# -- 1. SIGKILL the gateway mid-stream ------------------------------------------------------------
class GatewayProcess:
    """`python -m gateway.cli gateway` as a real subprocess, configured by HMG_* variables."""

    def __init__(self, broker: Mosquitto, data_dir: Path) -> None:
        self.api_port = free_port()
        self.data_dir = data_dir
        self.log = data_dir / "gateway.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HMG_MODE": "test",
            "HMG_AUTO_REGISTER": "true",
            "HMG_DATA_DIR": str(data_dir),
            "HMG_MQTT_PORT": str(broker.port),
            "HMG_MQTT_CLIENT_ID": "gw-sigkill",
            "HMG_API_PORT": str(self.api_port),
            "HMG_API_SECRET": "test-secret-value",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "gateway"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited: {self.log.read_text()[-3000:]}")
            try:
                r = httpx.get(f"http://127.0.0.1:{self.api_port}/ready", timeout=1)
            except httpx.HTTPError:
                return False
            return r.status_code == 200

        wait_until(ready, 60, "gateway ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def with_crises(messages: list[Message], crises: int) -> list[Message]:
    """`messages` with one plausible crisis reading from each of `crises` cuffs spread evenly
    through them (each cuff's only reading: it raises the alert at once)."""
    out = list(messages)
    now = utcnow()
    step = len(out) // (crises + 1)
    for k in reversed(range(crises)):
        dev = f"cuff-{k:03d}"
        data = {"systolic": 194, "diastolic": 124, "pulse": 80, "unit": "mmHg"}
        out.insert((k + 1) * step, (f"hm/v1/{TENANT}/{dev}/bp", v1(dev, "bp", 1, data, now)))
    return out


def crisis_openings(db: Path) -> list[str]:
    """The patient of every `opened` event of a hypertensive-crisis alert."""
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(
            "SELECT a.patient_id FROM alert_events e JOIN alerts a ON a.alert_id = e.alert_id "
            "WHERE e.event = 'opened' AND a.code = 'bp.hypertensive_crisis'"
        ).fetchall()
    finally:
        con.close()
    return sorted(str(r[0]) for r in rows)


def test_sigkill_gateway_mid_stream_stores_exactly_n(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Every reading stored once, and every crisis raised once: readings stored but not yet
    analysed at the kill are analysed at the restart (gateway.flow.recovery)."""
    crises = 100
    n = 10_000
    messages = with_crises(stream(n - crises), crises)
    gw = GatewayProcess(mosquitto, tmp_path / "gw")
    db = gw.data_dir / "hmg.db"
    gw.start()  # creates the persistent session: from now on the broker keeps our messages
    try:
        pub = threading.Thread(target=publish, args=(mosquitto.port, messages))
        pub.start()
        wait_until(lambda: db_counts(db)[0] >= n // 5, 120, "a fifth of the stream stored")
        gw.kill()
        at_kill = db_counts(db)[0]
        assert 0 < at_kill < n, "the kill must land mid-stream"
        time.sleep(1.0)  # the publisher keeps going; the broker queues for the dead session
        gw.start()
        pub.join(120)
        assert not pub.is_alive()
        wait_until(lambda: db_counts(db)[0] >= n, 180, f"{n} readings stored")
        time.sleep(1.5)  # redeliveries still in flight must not add rows
        rows, distinct = db_counts(db)
        wait_until(lambda: len(crisis_openings(db)) >= crises, 60, "every crisis alert")
        time.sleep(1.0)  # a second opening would show up by now
        openings = crisis_openings(db)
    finally:
        gw.terminate()
    print(
        f"\nSIGKILL fault: N={n}, stored before kill={at_kill}, rows={rows}, distinct={distinct},"
        f" crisis alerts opened {len(openings)} of {crises}, patients {len(set(openings))}"
    )
    assert rows == n
    assert distinct == n
    assert openings == sorted(f"cuff-{k:03d}" for k in range(crises))  # each exactly once


# -- helpers for the in-process gateway ----------------------------------------------------------
async def start_gateway(
    broker: Mosquitto, tmp_path: Path, *, client_id: str, **overrides: object
) -> Gateway:
    settings = Settings(
        mode="test",
        data_dir=tmp_path / "gw",
        mqtt_port=broker.port,
        mqtt_client_id=client_id,
        tick_interval_s=0.5,
        **overrides,
    )
    gw = Gateway(settings)
    await gw.db.create_schema()
    now = utcnow()
    for i in range(20):
        dev = Device(
            f"hr-{i:02d}", TENANT, "hr", bindings=(Binding(f"p-{i:02d}", now - timedelta(days=1)),)
        )
        await gw.stores.patients.save_device(dev, now)
    return gw


async def stored(gw: Gateway) -> int:
    from sqlalchemy import text

    async with gw.db.session() as s:
        return int((await s.execute(text("SELECT count(*) FROM readings"))).scalar_one())


async def settled(gw: Gateway, n: int) -> int:
    """Rows stored once `n` are in and redeliveries still in flight have had time to land."""

    async def all_in() -> bool:
        return await stored(gw) >= n

    await await_until(all_in, 120, f"{n} readings stored")
    await asyncio.sleep(1.0)
    return await stored(gw)


# -- 2. broker restart mid-stream ----------------------------------------------------------------
class SlowStore(SqlReadingStore):
    """The real SQL store, each write held back a little: the gateway drains slower than the
    publisher publishes, so a broker restart lands mid-drain however fast the machine is."""

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        await asyncio.sleep(0.1)
        return await super().write(readings)


async def test_broker_restart_mid_stream_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    n = 6000
    messages = stream(n)
    gw = await start_gateway(mosquitto, tmp_path, client_id="gw-restart", batch_max=100)
    gw.readings = gw.pipeline.readings = SlowStore(gw.db)
    await gw.start()
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)
    try:
        await asyncio.to_thread(publish, mosquitto.port, messages[: n // 2], "pub-a")
        before = await stored(gw)
        assert before < n // 2, "the restart must land while the gateway is still draining"
        await asyncio.to_thread(mosquitto.restart)
        await asyncio.to_thread(publish, mosquitto.port, messages[n // 2 :], "pub-b")

        total = await settled(gw, n)
        print(
            f"\nbroker restart fault: N={n}, stored at restart={before}, stored={total}, "
            f"received={gw.ingest.received}, acked={gw.ingest.acked}"
        )
        assert total == n
        assert gw.ingest.connected.is_set()
    finally:
        await gw.stop()


# -- 2b. the MQTT link process dies mid-stream --------------------------------------------------
async def test_link_process_killed_mid_stream_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    n = 6000
    messages = stream(n)
    gw = await start_gateway(mosquitto, tmp_path, client_id="gw-link-kill", batch_max=100)
    gw.readings = gw.pipeline.readings = SlowStore(gw.db)
    await gw.start()
    ingest = gw.ingest
    assert ingest is not None
    assert await ingest.wait_connected(10)
    try:
        pub = asyncio.create_task(asyncio.to_thread(publish, mosquitto.port, messages, "pub-k"))

        async def some_in() -> bool:
            return await stored(gw) >= n // 10

        await await_until(some_in, 60, "a tenth of the stream stored")
        first = ingest.link_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        at_kill = await stored(gw)
        assert at_kill < n, "the kill must land mid-stream"
        await pub

        total = await settled(gw, n)
        print(
            f"\nlink kill fault: N={n}, stored at kill={at_kill}, stored={total}, "
            f"received={ingest.received}, acked={ingest.acked}"
        )
        assert total == n
        assert ingest.link_pid not in (None, first)  # a new link took over
        assert ingest.connected.is_set()
    finally:
        await gw.stop()


# -- 3. storage outage ---------------------------------------------------------------------------
class OutageStore(SqlReadingStore):
    """The real SQL store; while `down`, every write fails as an unavailable backend would."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.down = False
        self.failed_writes = 0

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        if self.down:
            self.failed_writes += 1
            raise StoreUnavailableError("simulated outage")
        return await super().write(readings)


async def test_storage_outage_acknowledges_nothing_until_back(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    n, queue_max, batch_max = 3000, 200, 100
    gw = await start_gateway(
        mosquitto, tmp_path, client_id="gw-outage", queue_max=queue_max, batch_max=batch_max
    )
    store = OutageStore(gw.db)
    gw.readings = gw.pipeline.readings = store
    store.down = True
    await gw.start()
    ingest = gw.ingest
    assert ingest is not None
    assert await ingest.wait_connected(10)
    try:
        await asyncio.to_thread(publish, mosquitto.port, stream(n))

        async def failing() -> bool:
            return store.failed_writes >= 3

        await await_until(failing, 30, "write attempts during the outage")
        await asyncio.sleep(1.0)
        # Nothing acknowledged, nothing stored; and the gateway stopped taking messages: at most
        # its window of `queue_max` messages out with the pipeline.
        taken_during_outage = ingest.received
        assert ingest.acked == 0
        assert await stored(gw) == 0
        assert 0 < taken_during_outage <= queue_max
        store.down = False
        total = await settled(gw, n)
        print(
            f"\nstorage outage fault: N={n}, failed writes={store.failed_writes}, taken during "
            f"outage={taken_during_outage}, acked during outage=0, stored={total}, "
            f"acked={ingest.acked}"
        )
        assert total == n
        assert ingest.acked == n
    finally:
        await gw.stop()


# -- 4. bad payloads interleaved with good ones ---------------------------------------------------
def bad_payloads(now: datetime) -> list[tuple[str, Message]]:
    """(expected reason, message) for every kind of bad input."""
    rnd = random.Random(4)
    _, good = reading("hr-01", 10_000, now)
    big = {"firmware": "x" * 5000, "battery": 0.5}
    oversized = json.dumps(
        {
            "schema": "hm.reading/1",
            "device_id": "hr-02",
            "seq": 1,
            "ts": format_ts(now),
            "kind": "status",
            "data": big,
        }
    ).encode()
    wrong_unit = json.loads(reading("hr-03", 10_000, now, "bp")[1])
    wrong_unit["data"]["unit"] = "psi"
    implausible = json.loads(reading("hr-04", 10_000, now, "bp")[1])
    implausible["data"].update(systolic=70, diastolic=90)
    spoofed = json.loads(good)  # hr-01's payload sent on hr-05's topic
    future = json.loads(reading("hr-06", 10_000, now + timedelta(hours=2))[1])
    kiosk = {
        "schema": "hm.kiosk/1",
        "device_id": "hr-07",
        "seq": 1,
        "ts": format_ts(now),
        "patient_id": "p-99",
        "measurements": {"pulse": {"value": 70}},
    }
    return [
        ("malformed", ("hm/v1/t1/hr-01/hr", b"this is not json {")),
        ("too_large", ("hm/v1/t1/hr-02/status", oversized)),
        ("malformed", ("hm/v1/t1/hr-01/hr", good[: len(good) // 2])),  # truncated
        ("unit", ("hm/v1/t1/hr-03/bp", json.dumps(wrong_unit).encode())),
        ("topic_mismatch", ("hm/v1/t1/hr-05/hr", json.dumps(spoofed).encode())),
        ("unknown_device", ("hm/v1/t1/ghost-9/hr", reading("ghost-9", 1, now)[1])),
        ("malformed", ("hm/v1/t1/hr-01/hr", b"\xff" + rnd.randbytes(200))),  # random bytes
        ("implausible", ("hm/v1/t1/hr-04/bp", json.dumps(implausible).encode())),
        ("timestamp", ("hm/v1/t1/hr-06/hr", json.dumps(future).encode())),
        ("not_kiosk", ("hm/v1/t1/hr-07/kiosk", json.dumps(kiosk).encode())),
        ("schema", ("hm/v1/t1/hr-08/hr", b'{"schema": "hm.reading/9", "data": {}}')),
    ]


def deadletter_count(gw: Gateway, reason: str) -> float:
    """The gateway's own count (each gateway has its own metrics registry)."""
    value = gw.metrics.registry.get_sample_value("hmg_deadletters_total", {"reason": reason})
    return value or 0.0


async def test_bad_payloads_are_deadlettered_and_good_ones_stored(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    now = utcnow()
    good = stream(1000)
    bad = bad_payloads(now) * 5
    expected = Counter(reason for reason, _ in bad)
    messages: list[Message] = []
    step = len(good) // len(bad)
    for i, (_, msg) in enumerate(bad):
        messages.extend(good[i * step : (i + 1) * step])
        messages.append(msg)
    messages.extend(good[len(bad) * step :])

    # A watcher on the dead-letter topic.
    seen: list[dict[str, object]] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dl-watch")
    watcher.on_message = lambda _c, _u, m: seen.append(json.loads(m.payload))
    watcher.connect("127.0.0.1", mosquitto.port)
    watcher.subscribe(f"hm/v1/{TENANT}/deadletter", qos=1)
    watcher.loop_start()

    gw = await start_gateway(mosquitto, tmp_path, client_id="gw-bad", max_payload_bytes=4096)
    await gw.start()
    assert gw.ingest is not None
    assert await gw.ingest.wait_connected(10)
    app = create_app(gateway=gw)
    try:
        await asyncio.to_thread(publish, mosquitto.port, messages)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            headers=auth_headers(app, Role.OPERATOR, TENANT),
        ) as client:

            async def all_in() -> bool:
                dead = (await client.get("/deadletters", params={"limit": 500})).json()
                return await stored(gw) >= len(good) and len(dead) >= len(bad)

            await await_until(all_in, 60, "good readings stored and bad ones dead-lettered")
            await asyncio.sleep(0.5)
            dead = (await client.get("/deadletters", params={"limit": 500})).json()
            assert await stored(gw) == len(good)
            assert Counter(d["reason"] for d in dead) == expected
            by_topic = {(d["topic"], d["reason"]) for d in dead}
            assert by_topic == {(m[0], r) for r, m in bad}
            metrics = (await client.get("/metrics")).text
            assert "hmg_deadletters_total" in metrics
        for reason, count in expected.items():
            assert deadletter_count(gw, reason) == count
        await await_until(_async_true_when(lambda: len(seen) >= len(bad)), 10, "dead letters")
        assert Counter(str(d["reason"]) for d in seen) == expected
        assert all("payload" in d and "topic" in d for d in seen)
        # Still running: one more good reading goes through.
        await asyncio.to_thread(
            publish, mosquitto.port, [reading("hr-00", 99_999, utcnow())], "pub-late"
        )

        async def one_more() -> bool:
            return await stored(gw) == len(good) + 1

        await await_until(one_more, 20, "a reading after the bad ones")
        print(
            f"\nbad-payload fault: good={len(good)} stored={len(good)}, bad={len(bad)} "
            f"dead-lettered={len(dead)} by reason {dict(expected)}"
        )
    finally:
        watcher.loop_stop()
        watcher.disconnect()
        await gw.stop()


def _async_true_when(pred: object) -> object:
    assert callable(pred)

    async def check() -> bool:
        return bool(pred())

    return check
