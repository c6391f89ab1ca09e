"""The scaled-out API role serves the stores without ingest, detection or timers of its own, and
routes clinicians' actions to the partitions' owners."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from alerts.desk import AlertDesk
from alerts.model import AlertCandidate
from devices.model import utcnow
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.scale.action_routing import RoutedActions
from gateway.scale.roles import refresh_timers, route_actions, serve_api
from gateway.storage import AlertRecord
from tests.support.nats import nats_server
from tests.support.servers import free_port

POLICY = Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml"


async def test_api_role_runs_no_ingest_and_no_detection(tmp_path: Path) -> None:
    app = create_app(Settings(mode="test", data_dir=tmp_path), mqtt=False, detection=False)
    async with app.router.lifespan_context(app):
        gw: Gateway = app.state.gateway
        assert gw.ingest is None
        assert gw._tasks == []  # no ticker, no snapshots, no retention job
    assert not (tmp_path / "detectors.snapshot").exists()


async def test_single_gateway_runs_its_timers(tmp_path: Path) -> None:
    app = create_app(Settings(mode="test", data_dir=tmp_path), mqtt=False)
    async with app.router.lifespan_context(app):
        gw: Gateway = app.state.gateway
        assert len(gw._tasks) >= 2  # ticker and detector snapshots
    assert (tmp_path / "detectors.snapshot").exists()  # written at shutdown


async def test_api_role_routes_actions_and_stops_on_a_signal_from_start_up(tmp_path: Path) -> None:
    settings = Settings(mode="test", data_dir=tmp_path, api_port=free_port())
    gw = Gateway(settings)
    await gw.start(mqtt=False, detection=False)
    stop = asyncio.Event()
    stop.set()  # SIGTERM came while the gateway was starting
    with nats_server(tmp_path / "nats") as node:
        nc = await nats.connect(node.url)
        try:
            await asyncio.wait_for(serve_api(gw, nc, stop), 30)
            assert isinstance(gw.actions, RoutedActions)
            with pytest.raises(TypeError, match="routed already"):
                route_actions(gw, nc)
        finally:
            await nc.close()
            await gw.stop()


async def test_only_a_detecting_gateway_rearms_timers_in_the_store(tmp_path: Path) -> None:
    """An alert whose timer was lost gets one from its owner (the single gateway, or the worker
    taking its partition), never from an API or router process that merely starts."""
    settings = Settings(mode="test", data_dir=tmp_path, policies=POLICY)
    t0 = utcnow()
    gw = Gateway(settings)
    await gw.start(mqtt=False, detection=False)
    opened = gw.desk.observe([AlertCandidate("p-001", "bp.hypertensive_crisis", t0)], t0,
                             tenant="demo")  # fmt: skip
    await gw.stores.records.commit(AlertRecord(at=t0, events=opened.events))  # without its timer
    await gw.stop()
    for detection, timers in ((False, 0), (True, 1)):
        gw = Gateway(settings)
        await gw.start(mqtt=False, detection=detection)
        try:
            assert len(await gw.stores.timers.load()) == timers
        finally:
            await gw.stop()


async def test_api_role_follows_the_owners_timers_in_the_store(tmp_path: Path) -> None:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path, policies=POLICY))
    await gw.start(mqtt=False, detection=False)
    t0 = utcnow()
    owner = AlertDesk(gw.policies, default_policy=gw.policies.get("*"))
    opened = owner.observe([AlertCandidate("p-001", "bp.hypertensive_crisis", t0)], t0,
                           tenant="demo")  # fmt: skip
    alert_id = opened.events[0].alert.alert_id
    await gw.stores.timers.save(opened.timers.saved, ())  # a worker stored it after start
    try:
        await refresh_timers(gw)
        assert gw.desk.timer(alert_id) == owner.timer(alert_id)
        await gw.stores.timers.save((), (alert_id,))  # resolved on its worker
        await refresh_timers(gw)
        assert gw.desk.timer(alert_id) is None
    finally:
        await gw.stop()
    assert not gw.desk.pending()  # a copy: nothing of it is ever written back
