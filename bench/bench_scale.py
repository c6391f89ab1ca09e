"""Scale-out benchmark: drain a prepared backlog with 1, 2 and 3 detector workers.

    make bench-scale
    .venv/bin/python -m bench.bench_scale --patients 256 --seconds 30 --workers 1 2 3

A real nats-server (JetStream) on free ports, SQLite in a temporary directory. The backlog is
the same for every run: `--patients` patients, each with `--seconds` one-second ECG chunks at
250 Hz (the expensive part) and as many vitals (BP, glucose, HR, SpO2 in turn), already routed
into the partition stream. Each run starts N worker processes (`hmg gateway --role worker`) on
an empty store and measures the time from the first partition taken to the last message
analysed, each worker's CPU time, and the snapshot size per patient. The router is measured the
same way on the raw device messages of the same backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, Reading
from gateway.scale.envelope import msg_id, pack
from gateway.scale.partition import owner_of, partition_of, subject
from gateway.scale.streams import PART_PREFIX, StreamSettings, ensure_streams
from gateway.scale.worker import SNAPSHOT_BUCKET
from simulator.ecgstream import EcgStream
from simulator.rhythm import RhythmPlan
from tests.support.nats import nats_server

TENANT = "bench"
PARTITIONS = 16
_VITALS = (Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2)


def backlog(patients: int, seconds: int, tenant: str = TENANT) -> list[Reading]:
    """Every patient's readings, interleaved in time order as devices would send them."""
    t0 = datetime.now(UTC) - timedelta(seconds=seconds + 60)
    base = EcgStream(250.0, RhythmPlan(base_hr=72.0), seed=5)
    chunks = [base.chunk(k) for k in range(seconds)]
    out: list[Reading] = []
    for k in range(seconds):
        ts = t0 + timedelta(seconds=k)
        for p in range(patients):
            pid = f"p-{p:05d}"
            ecg = EcgChunk(250.0, "II", 200.0, 0, np.asarray(chunks[(k + p) % seconds]))
            out.append(Reading(tenant, f"patch-{p:05d}", Kind.ECG, k + 1, ts, ts, pid, ecg=ecg))
            kind = _VITALS[(k + p) % len(_VITALS)]
            values = {
                Kind.BP: {"systolic": 128.0, "diastolic": 82.0},
                Kind.GLUCOSE: {"glucose": 6.2},
                Kind.HR: {"hr": 72.0},
                Kind.SPO2: {"spo2": 97.0},
            }[kind]
            out.append(Reading(tenant, f"vit-{p:05d}", kind, k + 1, ts, ts, pid, values))
    return out


async def prepare(url: str, readings: list[Reading]) -> dict[int, int]:
    """Publish the backlog into the partition stream; the last sequence of each partition."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js, StreamSettings())
    last: dict[int, int] = {}
    for i in range(0, len(readings), 500):
        acks = await asyncio.gather(
            *(
                js.publish(
                    subject(PART_PREFIX, partition_of(r.tenant, r.patient_id or "", PARTITIONS)),
                    pack(r),
                    headers={"Nats-Msg-Id": msg_id(r)},
                )
                for r in readings[i : i + 500]
            )
        )
        for r, ack in zip(readings[i : i + 500], acks, strict=True):
            p = partition_of(r.tenant, r.patient_id or "", PARTITIONS)
            last[p] = max(last.get(p, 0), ack.seq)
    await nc.close()
    return last


async def clear_snapshots(url: str) -> int:
    """Delete the snapshots of the previous run; return their total size."""
    nc = await nats.connect(url)
    size = 0
    try:
        store = await nc.jetstream().create_object_store(SNAPSHOT_BUCKET)
        for info in await store.list():
            size += info.size or 0
            await store.delete(info.name)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()
    return size


def progress(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=30)
    try:
        return dict(con.execute("SELECT stream, seq FROM stream_progress").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


def names_of(n: int) -> list[str]:
    return [f"bench-{n}-{i}" for i in range(n)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Run:
    workers: int
    seconds: float
    cpu: list[float]
    snapshot_bytes: int


async def _balanced(url: str, workers: list[str]) -> bool:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value("hmg_leases")
        held = {int(k.removeprefix("p.")): (await kv.get(k)).value for k in await kv.keys()}
    except (nats.js.errors.NotFoundError, nats.js.errors.NoKeysError, TimeoutError):
        return False
    finally:
        await nc.close()
    return all(held.get(p) == (owner_of(p, workers) or "").encode() for p in range(PARTITIONS))


def drain(url: str, workdir: Path, n: int, readings: list[Reading]) -> Run:
    """Start `n` workers, wait until they share the partitions, then publish the backlog and
    time it from the first message published to the last one analysed."""
    data = workdir / f"data-{n}"
    env = {
        **os.environ,
        "HMG_MODE": "test",
        "HMG_DATA_DIR": str(data),
        "HMG_NATS_URL": url,
        "HMG_PARTITIONS": str(PARTITIONS),
        "HMG_LEASE_TTL_S": "3",
        "HMG_SNAPSHOT_INTERVAL_S": "3600",
    }
    db = data / "hmg.db"
    cmd = [sys.executable, "-m", "gateway.cli", "gateway", "--role", "worker", "--worker-id"]
    procs = [
        subprocess.Popen(
            [*cmd, names_of(n)[i]],
            env=env,
            stdout=(workdir / f"w{n}-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i in range(n)
    ]
    names = names_of(n)
    deadline = time.monotonic() + 300
    while not asyncio.run(_balanced(url, names)):
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not share the partitions in 5 minutes")
        time.sleep(0.2)
    # Start-up (imports, schema, leases) is not counted: the clock starts with the backlog.
    start_cpu = [cpu_seconds(p.pid) for p in procs]
    t0 = time.monotonic()
    last = asyncio.run(prepare(url, readings))
    want = {f"p.{p}": seq for p, seq in last.items()}
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        got = progress(db)
        if all(got.get(k, 0) >= v for k, v in want.items()):
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("backlog not drained in 15 minutes")
    elapsed = time.monotonic() - t0
    cpu = [cpu_seconds(p.pid) - c0 for p, c0 in zip(procs, start_cpu, strict=True)]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)
    size = asyncio.run(clear_snapshots(url))
    return Run(n, elapsed, cpu, size)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patients", type=int, default=256)
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    a = p.parse_args()
    samples = a.patients * a.seconds * 250
    with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp) / "nats") as node:
        print(f"backlog: {a.patients * a.seconds * 2} messages ({a.patients} patients, "
              f"{samples:,} ECG samples) in {PARTITIONS} partitions")  # fmt: skip
        base: float | None = None
        for n in a.workers:
            # The same backlog for every run, under a tenant of its own (fresh partition
            # messages, not taken for repeats of the last run's).
            readings = backlog(a.patients, a.seconds, tenant=f"{TENANT}{n}")
            run = drain(node.url, Path(tmp), n, readings)
            rate = len(readings) / run.seconds
            base = base or rate
            per_msg = sum(run.cpu) / len(readings) * 1e6
            print(
                f"{n} worker(s): {run.seconds:6.2f} s, {rate:8.0f} msgs/s "
                f"({rate / base:.2f}x of 1 worker, {rate / base / n:.2f} of linear); "
                f"CPU {sum(run.cpu):.1f} s = {per_msg:.0f} us/msg; "
                f"snapshots {run.snapshot_bytes / a.patients / 1024:.1f} KiB/patient"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
