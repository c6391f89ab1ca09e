"""The composition root: a tier nobody could reach moves on the desk that holds the alert — a
worker partition's when scaled out, not the process's own (which keeps no timers there); the
jobs beside detection (platform push, follow-ups, results notices) are built there over the
runtime's own parts, and the running gateway hands itself to none of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.model import AlertCandidate
from gateway.notifiers.tiers import TIER_CHANNEL, TierChannel
from gateway.policies import load_policy
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Role, Runtime, build

POLICY = load_policy(Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml")
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_a_tier_nobody_reached_moves_on_in_the_partition_that_holds_the_alert(
    tmp_path: Path,
) -> None:
    runtime = build(
        Settings(mode="test", data_dir=tmp_path), Role.WORKER, clock=lambda: T0,
        policies={"demo": POLICY},
    )  # fmt: skip
    unit = runtime.partition()
    cand = AlertCandidate("p-001", "bp.hypertensive_crisis", T0, tenant="demo")
    (opened,) = unit.desk.observe([cand], T0).events
    alert_id = opened.alert.alert_id
    before = unit.desk.timer(alert_id)
    assert before is not None
    assert before.due_at is not None
    assert before.due_at > T0
    tier = runtime.notifications.channels[TIER_CHANNEL]
    assert isinstance(tier, TierChannel)
    assert tier.on_tier_failure is not None
    tier.on_tier_failure(alert_id)
    moved = unit.desk.timer(alert_id)
    assert moved is not None
    assert moved.due_at == T0  # the next tier at the partition's next tick
    assert runtime.desk.timer(alert_id) is None
    assert runtime.owner(alert_id) == (unit.desk, unit.pipeline)
    runtime.drop(unit)  # handed over: the process no longer answers for it
    assert runtime.owner(alert_id) == (runtime.desk, runtime.pipeline)
    assert unit.desk.timer(alert_id) == moved


@pytest.fixture
def jobs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform to push to, and results notices on without a personal channel."""
    monkeypatch.setenv("HMG_PLATFORM_URL", "https://platform.example/fhir")
    monkeypatch.setenv("HMG_RESULTS_ENABLED", "true")


async def _close(rt: Runtime) -> None:
    if rt.platform is not None:
        await rt.platform.channel.close()
    await rt.readings.close()
    await rt.db.dispose()


@pytest.mark.usefixtures("jobs_on")
async def test_the_jobs_are_built_over_the_runtimes_own_parts(tmp_path: Path) -> None:
    rt = build(Settings(mode="test", data_dir=tmp_path), clock=lambda: T0)
    try:
        followups, results, platform = rt.followups, rt.results, rt.platform
        assert results is not None
        assert platform is not None
        for job in (followups, results, platform):
            assert job.stores is rt.stores
            assert job.readings is rt.readings
            assert job.clock is rt.clock
            assert job.targets_for == rt.book.targets_for
            assert job.raise_now == rt.pipeline.raise_now
        assert followups.store is rt.stores.followups
        assert results.store is rt.stores.notices
        assert results.feed is rt.feed
        assert results.registry is rt.registry
        assert platform.feed is rt.feed
        assert platform.settings.url == "https://platform.example/fhir"
    finally:
        await _close(rt)


async def test_without_a_platform_or_a_personal_channel_only_the_follow_ups_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HMG_PLATFORM_URL", "HMG_RESULTS_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    rt = build(Settings(mode="test", data_dir=tmp_path))
    try:
        assert rt.platform is None
        assert rt.results is None
        assert rt.followups.stores is rt.stores
    finally:
        await _close(rt)


def _reachable(root: object, limit: int = 5000) -> Iterator[object]:
    """Every object reachable from `root` through the attributes of the project's own objects,
    containers and bound methods."""
    seen: set[int] = set()
    todo = [root]
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        elif hasattr(obj, "__self__") and hasattr(obj, "__func__"):  # a bound method
            todo.append(obj.__self__)
        elif type(obj).__module__.split(".")[0] in {"gateway", "alerts", "devices"}:
            todo += list(getattr(obj, "__dict__", {}).values())
            slots = [n for c in type(obj).__mro__ for n in getattr(c, "__slots__", ())]
            todo += [getattr(obj, n) for n in slots if hasattr(obj, n)]


@pytest.mark.usefixtures("jobs_on")
async def test_the_gateway_runs_the_runtimes_jobs_and_hands_itself_to_none(
    tmp_path: Path,
) -> None:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path))
    try:
        rt = gw.runtime
        assert gw.platform is rt.platform is not None
        assert gw.followups is rt.followups
        assert gw.results is rt.results is not None
        for job in (gw.platform, gw.followups, gw.results):
            assert not any(isinstance(o, Gateway) for o in _reachable(job))
        assert not any(isinstance(o, Gateway) for o in _reachable(rt))
    finally:
        await _close(gw.runtime)
