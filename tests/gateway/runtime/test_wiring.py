"""The composition root: a tier nobody could reach moves on the desk that holds the alert — a
worker partition's when scaled out, not the process's own (which keeps no timers there)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alerts.model import AlertCandidate
from gateway.notifiers.tiers import TIER_CHANNEL, TierChannel
from gateway.policies import load_policy
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Role, build

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
