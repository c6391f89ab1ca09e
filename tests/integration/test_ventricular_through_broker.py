"""A simulated sustained ventricular tachycardia through a real Mosquitto: the gateway raises
`ecg.vt` at high priority, with the strip as evidence, and no `ecg.tachycardia`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gateway.actor import Role
from gateway.api.app import create_app
from simulator.render import render
from simulator.scenario import library, load
from tests.integration.test_alerts_through_broker import play, register, start_gateway
from tests.support.auth import auth_headers
from tests.support.clock import VirtualClock
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime.fromisoformat("2026-11-22T00:00:00+00:00"))


async def test_sustained_vt_raises_ecg_vt_not_tachycardia(
    mosquitto: Mosquitto, tmp_path: Path, clock: VirtualClock
) -> None:
    path = next(p for p in library() if p.stem == "ecg_vt")
    rendered = render(load(path), seed=2)
    truth = rendered.truth_records()
    start = rendered.scenario.start
    clock.advance_to(start)
    gw = await start_gateway(mosquitto, tmp_path, clock, "vt")
    try:
        await register(gw, truth["tenant"], truth["bindings"], truth["kiosks"],
                       start - timedelta(days=1))  # fmt: skip
        await play(gw, mosquitto, clock, rendered.messages, "vt")
        app = create_app(gateway=gw)
        headers = auth_headers(app, Role.CLINICIAN, truth["tenant"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t", headers=headers) as client:  # fmt: skip
            alerts = (await client.get("/alerts", params={"limit": 500})).json()
    finally:
        await gw.stop()
    by_code = {a["code"]: a for a in alerts}
    assert "ecg.tachycardia" not in by_code
    vt = by_code["ecg.vt"]
    assert vt["priority"] == "high"
    assert vt["patient_id"] == "p-011"
    assert vt["evidence"]["strip"]["device_id"] == "patch-0011"
    assert 150 <= vt["evidence"]["heart_rate"] <= 170
    assert "室性心动过速" in vt["message"]["zh-CN"]
    assert vt["message"]["en"].startswith("Ventricular tachycardia")
