"""The live stream over a real HTTP server: each tenant hears, live and on reconnection with
`Last-Event-ID`, only its own alert events."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from gateway.actor import Role
from gateway.runtime.settings import Settings
from tests.support.api import crisis_alert
from tests.support.auth import token_for
from tests.support.browser import LiveGateway, live_gateway

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def frames(
    gw: LiveGateway, tenant: str, last_id: str | None, seconds: float, enough: int = 0
) -> list[str]:
    """The `data:` lines one subscriber of `tenant` receives within `seconds` (or until it has
    `enough` of them, if given)."""
    headers = {"Authorization": f"Bearer {token_for(gw.app, Role.CLINICIAN, tenant)}"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    got: list[str] = []
    end = time.monotonic() + seconds
    with httpx.stream(
        "GET", f"{gw.url}/stream/alerts?heartbeat_s=0.2", headers=headers, timeout=5
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():  # heartbeats every 0.2 s keep this loop turning
            if line.startswith("data:"):
                got.append(line)
            if time.monotonic() > end or (enough and len(got) >= enough):
                break
    return got


def publish(gw: LiveGateway, tenant: str) -> None:
    gateway = gw.app.state.gateway
    alert = crisis_alert(f"a-{tenant}", tenant, f"p-{tenant}", NOW)

    async def show() -> None:
        gateway.sse.show("opened", NOW, alert, None, {})

    gw.run(show())


def test_each_tenant_hears_only_its_own_events_live_and_replayed(tmp_path: Path) -> None:
    with live_gateway(Settings(mode="test", data_dir=tmp_path), mqtt=False) as gw:
        publish(gw, "t-east")  # already in the backlog when anyone connects
        east_replay = frames(gw, "t-east", "0", 15, enough=1)
        west_replay = frames(gw, "t-west", "0", 1.5)
        assert len(east_replay) == 1
        assert "a-t-east" in east_replay[0]
        assert west_replay == []
        live: dict[str, list[str]] = {}

        def listen(tenant: str) -> None:
            live[tenant] = frames(gw, tenant, None, 2.5)

        threads = [threading.Thread(target=listen, args=(t,)) for t in ("t-east", "t-west")]
        for t in threads:
            t.start()
        threading.Event().wait(1.0)
        publish(gw, "t-west")
        for t in threads:
            t.join()
        assert [("a-t-west" in f) for f in live["t-west"]] == [True]
        assert live["t-east"] == []
