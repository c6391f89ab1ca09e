"""The scaled-out API role serves the stores without ingest, detection or timers of its own."""

from __future__ import annotations

from pathlib import Path

from gateway.api.app import create_app
from gateway.service import Gateway
from gateway.settings import Settings


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
