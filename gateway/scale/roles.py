"""`hmg gateway --role router|worker|api`: the scaled-out roles on NATS JetStream.

All build the same `Gateway` as a single machine (stores, registry, targets, notification
dispatcher) but without its MQTT ingest and its timer loop: a router feeds the gateway's pipeline
from the device stream, a worker runs one pipeline per owned partition, and the API role serves
the ordinary app (API and dashboard) from the stores, its clinicians' actions routed to the
workers that own the patients' partitions (`gateway.scale.action_routing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket

import nats
from nats.aio.client import Client as NatsClient

from gateway.flow.actions import Actions
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Role
from gateway.scale.action_routing import RoutedActions
from gateway.scale.alert_topic import NatsAlertTopic
from gateway.scale.live import LiveRelay, LiveShow, relay_live
from gateway.scale.router import Router
from gateway.scale.streams import StreamSettings, ensure_streams
from gateway.scale.worker import Worker, WorkerSettings

log = logging.getLogger(__name__)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def run_role(role: str, settings: Settings, worker_id: str | None = None) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    gw = Gateway(settings, role=Role(role))
    nc = await nats.connect(
        [u.strip() for u in settings.scale.nats_url.split(",") if u.strip()],
        name=f"hmg-{role}",
        user=settings.scale.nats_username,
        password=settings.scale.nats_password,
        max_reconnect_attempts=-1,
    )
    channels = gw.notifications.channels
    # Any role may send what another stored (a dead worker's notifications go out through any
    # live process's outbox), so every role sends each channel the same way: the live view to
    # every API process (this one too, through `relay_live`), the alert topic through
    # nats-server's MQTT listener.
    if "sse" in channels:
        channels["sse"] = LiveRelay(nc)
    if "mqtt" in channels:
        channels["mqtt"] = NatsAlertTopic(nc)
    await gw.start(mqtt=False, detection=False)
    try:
        if role == "api":
            await serve_api(gw, nc, stop)
            return
        js = nc.jetstream()
        streams = StreamSettings(replicas=settings.scale.nats_replicas)
        await ensure_streams(js, streams)
        if role == "router":
            router = Router(
                gw.pipeline,
                nc,
                partitions=settings.scale.partitions,
                router_id=worker_id
                or settings.scale.worker_id
                or f"{socket.gethostname()}-{os.getpid()}",
                lease_ttl_s=settings.scale.lease_ttl_s,
                replicas=settings.scale.nats_replicas,
            )
            await router.run(stop)
        elif role == "worker":
            wid = worker_id or settings.scale.worker_id or socket.gethostname()
            ws = WorkerSettings.of(settings)
            await Worker(gw.runtime, nc, wid, ws, settings.snapshot_key).run(stop)
        else:
            raise ValueError(f"unknown role {role!r}")
    finally:
        with contextlib.suppress(Exception):
            await nc.drain()
        await gw.stop()


def route_actions(gw: Gateway, nc: NatsClient) -> RoutedActions:
    """The API role's action path: the gateway's own (a desk nobody ticks here) would let an
    action diverge from the owner's desk; this one sends it to the owner."""
    local = gw.actions
    if not isinstance(local, Actions):
        raise TypeError("the gateway's actions are routed already")
    routed = RoutedActions(
        nc,
        local,
        partitions=gw.settings.scale.partitions,
        timeout_s=gw.settings.scale.action_timeout_s,
        clock=gw.clock,
        view=LiveShow(nc),
    )
    gw.actions = routed
    return routed


async def serve_api(gw: Gateway, nc: NatsClient, stop: asyncio.Event) -> None:
    """The API and dashboard until SIGTERM/SIGINT: uvicorn's own handling of them once it
    serves, `stop` for one that came earlier (during start-up)."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.runtime.process import tune_gc

    route_actions(gw, nc)
    await relay_live(nc, gw.sse)
    tune_gc()
    s = gw.settings
    config = uvicorn.Config(
        create_app(gateway=gw),
        host=s.api.host,
        port=s.api.port,
        log_level="info",
        ssl_certfile=s.api.tls_cert_file,
        ssl_keyfile=s.api.tls_key_file,
    )
    server = uvicorn.Server(config)

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watch = asyncio.create_task(stop_when_asked())
    follow = asyncio.create_task(follow_timers(gw, s.detection.tick_interval_s))
    try:
        await server.serve()
    finally:
        watch.cancel()
        follow.cancel()


async def follow_timers(gw: Gateway, interval_s: float) -> None:
    """The API role's copy of the escalation timers, read from the store every `interval_s`:
    the owning workers store each change with its events, and the alert pages and the queue
    show the timer from this copy (an action's own answer updates it at once)."""
    while True:
        try:
            await refresh_timers(gw)
        except Exception:
            log.exception("escalation timers not read; trying again")
        await asyncio.sleep(interval_s)


async def refresh_timers(gw: Gateway) -> None:
    gw.desk.mirror_timers(await gw.stores.timers.load())
