"""`make bench-actions`: what routing a clinician's action to its partition's owner costs.

One open crisis alert on PostgreSQL (a throwaway database on the machine's server) and a real
nats-server; the owner (`PartitionActions` over the partition's `Actions`) and the API side
(`RoutedActions`) each have their own NATS connection, in one process. Each action is a comment
(an audit row in its own transaction, the cheapest action, so routing's share shows most):

- local: `BENCH_ACTIONS_N` (default 300) comments through `Actions`, one after another, as the
  single gateway takes them;
- routed: as many through `RoutedActions` (request on `hmg.act.<n>`, applied by the owner,
  answered), one after another;
- routed, concurrent: `BENCH_ACTIONS_CALLERS` (16) callers at once on the one partition (its
  owner applies them in turn): actions/s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats

from alerts.model import AlertCandidate
from devices.model import utcnow
from gateway.actor import Actor, Role
from gateway.flow.actions import Actions
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.scale.action_routing import PartitionActions, RoutedActions
from gateway.scale.partition import partition_of
from tests.support.nats import nats_server
from tests.support.postgres import migrate, throwaway_database

DR = Actor("dr.wang", Role.CLINICIAN, "demo", "dashboard@10.0.0.7")
PARTITIONS = 64
POLICY = Path(__file__).resolve().parents[1] / "deploy" / "policies" / "demo.toml"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def ms(lat: list[float], q: int) -> float:
    return statistics.quantiles(lat, n=100)[q - 1] * 1000


async def timed(n: int, act: Callable[[int], Awaitable[object]]) -> str:
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        await act(i)
        lat.append(time.perf_counter() - t)
    rate = n / (time.perf_counter() - t0)
    return f"{rate:6.0f} actions/s  p50 {ms(lat, 50):5.1f} ms  p95 {ms(lat, 95):5.1f} ms"


async def run(db_url: str, nats_url: str, data: Path) -> list[str]:
    n, callers = _int("BENCH_ACTIONS_N", 300), _int("BENCH_ACTIONS_CALLERS", 16)
    settings = Settings(mode="test", data_dir=data, database_url=db_url, policies=POLICY,
                        partitions=PARTITIONS, tick_interval_s=3600)  # fmt: skip
    gw = Gateway(settings)
    await gw.start(mqtt=False)
    owner_nc, api_nc = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        now = utcnow()
        opened = gw.desk.observe(
            [AlertCandidate("p-001", "bp.hypertensive_crisis", now)], now, tenant="demo"
        )
        assert await gw.pipeline.record(opened, None)
        alert_id = opened.events[0].alert.alert_id
        local = gw.actions
        assert isinstance(local, Actions)
        part = partition_of("demo", "p-001", PARTITIONS)
        owner = PartitionActions(owner_nc, part, PARTITIONS, local, asyncio.Lock(),
                                 worker="w1", owns=lambda: True)  # fmt: skip
        await owner.open()
        api = RoutedActions(api_nc, local, partitions=PARTITIONS, timeout_s=10.0, clock=gw.clock)
        out = [
            f"local               {await timed(n, lambda i: local.comment(DR, alert_id, f'l{i}'))}"
        ]
        out.append(
            f"routed              {await timed(n, lambda i: api.comment(DR, alert_id, f'r{i}'))}"
        )
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                api.comment(DR, alert_id, f"c{i}")
                for i in range(callers)
                for _ in range(n // callers)
            )
        )
        rate = callers * (n // callers) / (time.perf_counter() - t0)
        out.append(f"routed, {callers} callers  {rate:6.0f} actions/s")
        await owner.close()
        return out
    finally:
        await owner_nc.close()
        await api_nc.close()
        await gw.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as db_url:
        migrate(db_url)
        with nats_server(Path(tmp) / "nats") as node:
            lines = asyncio.run(run(db_url, node.url, Path(tmp)))
    print(f"clinicians' actions (comment) on PostgreSQL, load {os.getloadavg()[0]:.2f}")
    for line in lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
