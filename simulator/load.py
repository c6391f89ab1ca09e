"""Load mode: many virtual devices from one process at a configured total message rate.

Devices are split over `clients` MQTT connections, one sender thread each, so a slow
acknowledgement on one connection does not stall the others; each thread keeps its share of the
rate on an absolute schedule (message j at t0 + j / rate), catching up after a stall instead of
drifting. Payloads are valid v1 readings (hr, spo2, bp, glucose in turn per device) built from a
template, because JSON encoding through the domain model would cost more than the publish itself.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from devices.timeparse import format_ts
from simulator.publisher import Publisher, PublisherStats

_KINDS = ("hr", "spo2", "bp", "glucose")


@dataclass(frozen=True, slots=True)
class LoadConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    devices: int = 10_000
    rate: float = 1000.0  # messages per second, all devices together
    duration: float = 30.0
    clients: int = 4
    qos: int = 1
    max_inflight: int = 100  # per client
    tenant: str = "load"
    first_seq: int = 1  # a later run of the same devices continues their sequence numbers
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.devices < 1 or self.rate <= 0 or self.clients < 1 or self.duration <= 0:
            raise ValueError("devices, rate, clients and duration must be positive")


@dataclass(frozen=True, slots=True)
class LoadSummary:
    devices: int
    target_rate: float
    seconds: float
    sent: int
    acked: int
    errors: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def ack_rate(self) -> float:
        return self.acked / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"load: {self.devices} devices, target {self.target_rate:.0f}/s: sent {self.sent} "
                f"in {self.seconds:.1f} s = {self.rate:.0f}/s, acked {self.acked} "
                f"({self.ack_rate:.0f}/s), errors {self.errors}")  # fmt: skip


def _data(kind: str, device: int, seq: int) -> str:
    v = (device * 7 + seq * 3) % 40
    if kind == "hr":
        return f'{{"value":{60 + v}}}'
    if kind == "spo2":
        return f'{{"value":{95 + v % 5}}}'
    if kind == "bp":
        return f'{{"systolic":{115 + v},"diastolic":{70 + v // 2},"pulse":{62 + v},"unit":"mmHg"}}'
    return f'{{"value":{4.5 + v / 10:.1f},"unit":"mmol/L","source":"cgm"}}'


def messages(cfg: LoadConfig, client: int, start: datetime) -> Iterator[tuple[str, bytes]]:
    """The endless round-robin message stream of one client's share of the devices."""
    mine = list(range(client, cfg.devices, cfg.clients))
    seq = [cfg.first_seq - 1] * len(mine)
    j = 0
    while True:
        k = j % len(mine)
        dev = mine[k]
        seq[k] += 1
        kind = _KINDS[dev % len(_KINDS)]
        device_id = f"load-{dev:06d}"
        ts = format_ts(start + timedelta(seconds=j / max(cfg.rate / cfg.clients, 1e-9)))
        payload = (
            f'{{"schema":"hm.reading/1","device_id":"{device_id}","seq":{seq[k]},"ts":"{ts}",'
            f'"kind":"{kind}","patient_id":null,"data":{_data(kind, dev, seq[k])}}}'
        )
        yield f"hm/v1/{cfg.tenant}/{device_id}/{kind}", payload.encode()
        j += 1


def _sender(
    cfg: LoadConfig,
    pub: Publisher,
    client: int,
    t0: float,
    stop: threading.Event,
    ends: list[float],
) -> None:
    """Send whatever is due, then sleep until the next message is (bursts, not per-message
    sleeps, so the pacing overhead stays small at thousands of messages per second)."""
    rate = cfg.rate / cfg.clients
    total = int(cfg.duration * rate)
    stream = messages(cfg, client, datetime.now(UTC))
    j = 0
    while j < total and not stop.is_set():
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        while j < due:
            topic, payload = next(stream)
            pub.publish(topic, payload)
            j += 1
        wait = t0 + j / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    ends.append(time.monotonic())


def _total(pubs: list[Publisher]) -> PublisherStats:
    stats = [p.stats for p in pubs]
    return PublisherStats(*(sum(getattr(s, f) for s in stats) for f in PublisherStats.__slots__))


def run_load(cfg: LoadConfig, progress: TextIO | None = sys.stderr) -> LoadSummary:
    """Run the load, showing a live line (rates over the last second) on `progress`."""
    pubs = [
        Publisher(cfg.host, cfg.port, client_id=f"hmg-load-{i}", qos=cfg.qos,
                  max_inflight=cfg.max_inflight, username=cfg.username, password=cfg.password)
        for i in range(cfg.clients)
    ]  # fmt: skip
    for p in pubs:
        p.connect()
    stop = threading.Event()
    ends: list[float] = []
    t0 = time.monotonic() + 0.1
    threads = [
        threading.Thread(target=_sender, args=(cfg, p, i, t0, stop, ends), daemon=True)
        for i, p in enumerate(pubs)
    ]
    for t in threads:
        t.start()
    prev, prev_t = _total(pubs), time.monotonic()
    try:
        while any(t.is_alive() for t in threads):
            threads[0].join(1.0) if threads[0].is_alive() else time.sleep(1.0)
            cur, now = _total(pubs), time.monotonic()
            dt = now - prev_t
            if progress is not None:
                progress.write(
                    f"\rsent {(cur.sent - prev.sent) / dt:7.0f}/s  acked "
                    f"{(cur.acked - prev.acked) / dt:7.0f}/s  errors {cur.errors}  in flight "
                    f"{cur.inflight:5d}  total {cur.sent}  "
                )
                progress.flush()
            prev, prev_t = cur, now
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join()
    send_end = max(ends, default=time.monotonic())
    for p in pubs:
        p.flush(10.0)
    total = _total(pubs)
    for p in pubs:
        p.close()
    if progress is not None:
        progress.write("\n")
    return LoadSummary(cfg.devices, cfg.rate, send_end - t0, total.sent, total.acked, total.errors)
