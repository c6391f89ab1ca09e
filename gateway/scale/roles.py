"""`hmg gateway --role router|worker`: the scaled-out roles on NATS JetStream.

Both build the same `Gateway` as a single machine (stores, registry, targets, notification
dispatcher) but without its MQTT ingest and its timer loop: a router feeds the gateway's pipeline
from the device stream, a worker runs one pipeline per owned partition. The API role is the
ordinary app (`--role api`), which serves the API and the dashboard from the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket

import nats

from gateway.scale.router import Router
from gateway.scale.streams import StreamSettings, ensure_streams
from gateway.scale.worker import Worker, WorkerSettings
from gateway.service import Gateway
from gateway.settings import Settings

log = logging.getLogger(__name__)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def run_role(role: str, settings: Settings, worker_id: str | None = None) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    gw = Gateway(settings)
    await gw.start(mqtt=False, detection=False)
    nc = await nats.connect(
        [u.strip() for u in settings.nats_url.split(",") if u.strip()],
        name=f"hmg-{role}",
        user=settings.nats_username,
        password=settings.nats_password,
        max_reconnect_attempts=-1,
    )
    try:
        js = nc.jetstream()
        streams = StreamSettings(replicas=settings.nats_replicas)
        await ensure_streams(js, streams)
        if role == "router":
            router = Router(
                gw.pipeline,
                nc,
                partitions=settings.partitions,
                router_id=worker_id
                or settings.worker_id
                or f"{socket.gethostname()}-{os.getpid()}",
                lease_ttl_s=settings.lease_ttl_s,
                replicas=settings.nats_replicas,
            )
            await router.run(stop)
        elif role == "worker":
            wid = worker_id or settings.worker_id or socket.gethostname()
            ws = WorkerSettings(
                partitions=settings.partitions,
                lease_ttl_s=settings.lease_ttl_s,
                snapshot_interval_s=settings.snapshot_interval_s,
                tick_interval_s=settings.tick_interval_s,
                replicas=settings.nats_replicas,
            )
            await Worker(gw, nc, wid, ws, settings.snapshot_key).run(stop)
        else:
            raise ValueError(f"unknown role {role!r}")
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()
        await gw.stop()
