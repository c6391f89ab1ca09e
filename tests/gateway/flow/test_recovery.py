"""The single gateway resumes detection after a crash: stored readings whose detection never
ran are analysed at the next start (their alerts raised once), analysed ones are not raised
again, and the detectors' state (a BP repeat window) survives through the snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from devices.model import utcnow
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.wire import v1

CRISIS = "bp.hypertensive_crisis"


def bp(device: str, seq: int, s: int, d: int, ts: datetime) -> Inbound:
    data = {"systolic": s, "diastolic": d, "pulse": 80, "unit": "mmHg"}
    return Inbound(f"hm/v1/t/{device}/bp", v1(device, "bp", seq, data, ts), utcnow())


def settings(tmp_path: Path) -> Settings:
    return Settings(mode="test", data_dir=tmp_path, auto_register=True, snapshot_interval_s=3600)


async def opened(gw: Gateway) -> list[tuple[str, str]]:
    """(patient, code) of every crisis alert's `opened` event."""
    alerts = await gw.stores.alerts.query(code=CRISIS, limit=1000)
    out = []
    for a in alerts:
        events = await gw.stores.alerts.events(a.alert_id)
        out += [(a.patient_id, a.code) for e in events if e.event.value == "opened"]
    return sorted(out)


async def store_only(gw: Gateway, batch: Sequence[Inbound]) -> None:
    """What a crash right after the acknowledgement leaves: stored, never analysed."""
    await gw.pipeline.store(gw.pipeline.decode(batch))


async def crash(gw: Gateway) -> None:
    """Die without the orderly stop (no final snapshot, no flush)."""
    for task in gw._tasks:  # the process is gone: so are its tasks
        task.cancel()
    if gw.sending is not None:
        gw.sending.cancel()
    await gw.readings.close()
    await gw.db.dispose()


async def test_stored_but_never_analysed_readings_raise_once_after_restart(
    tmp_path: Path,
) -> None:
    now = utcnow() - timedelta(minutes=5)
    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    await gw.pipeline.handle(
        [bp("cuff-a", 1, 150, 95, now), bp("cuff-a", 2, 194, 124, now + timedelta(minutes=1))]
    )
    await store_only(
        gw, [bp("cuff-b", 1, 150, 95, now), bp("cuff-b", 2, 195, 125, now + timedelta(minutes=1))]
    )
    assert await opened(gw) == [("cuff-a", CRISIS)]
    await crash(gw)

    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    try:
        assert await opened(gw) == [("cuff-a", CRISIS), ("cuff-b", CRISIS)]
        # The broker delivers the unacknowledged batch again: stored once, raised once.
        await gw.pipeline.handle(
            [bp("cuff-b", 1, 150, 95, now), bp("cuff-b", 2, 195, 125, now + timedelta(minutes=1))]
        )
        assert await opened(gw) == [("cuff-a", CRISIS), ("cuff-b", CRISIS)]
    finally:
        await gw.stop()


async def test_repeat_window_survives_a_crash_through_the_snapshot(tmp_path: Path) -> None:
    now = utcnow() - timedelta(minutes=5)
    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    # A suspect crisis (pulse pressure under 20 mmHg) waits for its repeat...
    await gw.pipeline.handle([bp("cuff-r", 1, 186, 172, now)])
    assert await opened(gw) == []
    assert gw.recovery is not None
    await gw.recovery.snapshot()
    await crash(gw)

    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    try:
        # ...and the repeat, again suspect, confirms it only with the restored window.
        await gw.pipeline.handle([bp("cuff-r", 2, 188, 174, now + timedelta(minutes=2))])
        assert await opened(gw) == [("cuff-r", CRISIS)]
    finally:
        await gw.stop()


async def test_without_the_snapshot_the_window_is_forgotten(tmp_path: Path) -> None:
    """The control for the test above: the same stream with the snapshot removed."""
    now = utcnow() - timedelta(minutes=5)
    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    await gw.pipeline.handle([bp("cuff-r", 1, 186, 172, now)])
    await crash(gw)

    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    try:
        await gw.pipeline.handle([bp("cuff-r", 2, 188, 174, now + timedelta(minutes=2))])
        assert await opened(gw) == []
    finally:
        await gw.stop()


async def test_first_start_on_an_existing_store_analyses_nothing_old(tmp_path: Path) -> None:
    """A store written before detection progress was kept: its readings are history."""
    now = utcnow() - timedelta(minutes=5)
    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False, detection=False)  # stores, keeps no progress
    await store_only(gw, [bp("cuff-old", 1, 195, 125, now)])
    await crash(gw)

    gw = Gateway(settings(tmp_path))
    await gw.start(mqtt=False)
    try:
        assert await opened(gw) == []
        assert await gw.stores.progress.get("local") == 1
    finally:
        await gw.stop()
