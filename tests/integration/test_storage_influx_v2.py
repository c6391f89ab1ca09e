"""InfluxDB v2 write path (influxdb-client, /api/v2/write, token auth) against a real server that
implements it: VictoriaMetrics, read back through VictoriaMetrics' own export API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gateway.runtime.settings import InfluxSettings
from gateway.storage import StoreUnavailableError
from gateway.storage.influx import InfluxReadingStore
from gateway.storage.lineproto import epoch_us
from tests.gateway.storage.helpers import T0, bp, ecg_chunks, glucose
from tests.support.influx import VictoriaMetrics

pytestmark = pytest.mark.integration


def v2_store(vm: VictoriaMetrics) -> InfluxReadingStore:
    return InfluxReadingStore(
        InfluxSettings(url=vm.url, mode="v2", token="test-token", org="hmg", bucket="readings")
    )


@pytest.fixture
async def store(victoria: VictoriaMetrics) -> AsyncIterator[InfluxReadingStore]:
    s = v2_store(victoria)
    yield s
    await s.close()


async def export(vm: VictoriaMetrics, match: str) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Series `measurement_field` (VictoriaMetrics' naming) -> [(ms, value)], per device."""
    async with httpx.AsyncClient(base_url=vm.url, trust_env=False) as http:
        (await http.get("/internal/force_flush")).raise_for_status()
        resp = await http.get(
            "/api/v1/export",
            params={
                "match[]": match,
                "start": "2026-11-01T00:00:00Z",
                "end": "2026-12-01T00:00:00Z",
            },
        )
    resp.raise_for_status()
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for text in resp.text.splitlines():
        doc = json.loads(text)
        key = (doc["metric"]["__name__"], doc["metric"]["device"])
        out[key] = sorted(zip(doc["timestamps"], doc["values"], strict=True))
    return out


async def test_v2_write_lands_with_schema_and_dedups(
    store: InfluxReadingStore, victoria: VictoriaMetrics
) -> None:
    new = await store.write([bp(1, 150.0), bp(2, 160.0, minutes=1), glucose(1, 3.1, minutes=2)])
    assert len(new) == 3
    # Redelivery through a fresh client: same points, overwritten rather than multiplied.
    again = v2_store(victoria)
    await again.write([bp(1, 150.0), bp(2, 160.0, minutes=1)])
    await again.close()
    series = await export(victoria, '{__name__=~"bp_systolic|glucose_glucose|bp_seq"}')
    ms = [epoch_us(T0) // 1000, epoch_us(T0 + timedelta(minutes=1)) // 1000]
    assert series[("bp_systolic", "cuff-1")] == [(ms[0], 150.0), (ms[1], 160.0)]
    assert series[("bp_seq", "cuff-1")] == [(ms[0], 1.0), (ms[1], 2.0)]
    assert series[("glucose_glucose", "cgm-1")] == [(epoch_us(T0) // 1000 + 120_000, 3.1)]


async def test_v2_ecg_chunks_and_beats(
    store: InfluxReadingStore, victoria: VictoriaMetrics
) -> None:
    await store.write(ecg_chunks(20.0))
    series = await export(victoria, '{__name__=~"ecg_n|ecg_beat_hr"}')
    assert len(series[("ecg_n", "patch-1")]) == 20  # one point per chunk, not per sample
    hrs = [v for _, v in series[("ecg_beat_hr", "patch-1")]]
    assert len(hrs) >= 18
    assert sum(hrs) / len(hrs) == pytest.approx(72.0, abs=1.0)


async def test_v2_outage_raises(store: InfluxReadingStore, victoria: VictoriaMetrics) -> None:
    victoria.stop()
    with pytest.raises(StoreUnavailableError):
        await store.write([bp(1)])
    victoria.start()
    assert len(await store.write([bp(1)])) == 1
