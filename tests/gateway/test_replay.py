"""`hmg replay` with a policy: escalation on the replay clock, acknowledgement lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.policies import load_policy
from gateway.replay import ReplayLineError, make_pipeline, replay_lines
from tests.support.wire import v1_doc

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "deploy" / "policies" / "demo.toml"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 18:00 at +08:00: outside quiet hours


def ts(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def bp(
    minute: float, seq: int, sys_: int, dia: int, device: str = "cuff-1", tenant: str = "demo"
) -> str:
    data = {"systolic": sys_, "diastolic": dia, "unit": "mmHg"}
    payload = v1_doc(device, "bp", seq, data, ts(minute), "p-001")
    return json.dumps({"topic": f"hm/v1/{tenant}/{device}/bp", "payload": payload})


def ack(minute: float, by: str = "dr.li", tenant: str | None = None) -> str:
    body = {"code": "bp.hypertensive_crisis", "patient_id": "p-001", "at": ts(minute), "by": by}
    return json.dumps({"ack": body if tenant is None else {**body, "tenant": tenant}})


def tick(minute: float) -> str:
    return json.dumps({"tick": ts(minute)})


def run(lines: list[str], policy: bool = True) -> list[dict[str, Any]]:
    proc = make_pipeline(policies=[load_policy(POLICY)] if policy else [])
    return list(replay_lines(lines, proc))


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    out = []
    for e in events:
        esc = e.get("detail", {}).get("escalation")
        out.append((e["event"], e["at"], esc["tier_name"] if esc else None))
    return out


CRISIS = [bp(0, 1, 190, 124), bp(2, 2, 195, 126), bp(4, 3, 192, 125)]


def test_unacknowledged_crisis_escalates_tier_by_tier_on_the_replay_clock() -> None:
    events = run([*CRISIS, tick(40)])
    assert summary(events) == [
        ("opened", ts(0).replace("Z", ".000Z"), "family_doctor"),
        ("updated", ts(2).replace("Z", ".000Z"), None),
        ("updated", ts(4).replace("Z", ".000Z"), None),
        ("escalated", "2026-11-22T10:10:00.000Z", "on_call_physician"),
        ("escalated", "2026-11-22T10:20:00.000Z", "emergency"),
        ("escalated", "2026-11-22T10:35:00.000Z", "emergency"),
    ]
    # One alert for the whole episode; the fixed contract fields are all there.
    assert len({e["alert"]["alert_id"] for e in events}) == 1
    for e in events:
        assert set(e) >= {"event", "at", "alert"}
        assert set(e["alert"]) >= {
            "alert_id", "patient_id", "code", "priority", "state",
            "opened_at", "source_ts", "message", "evidence",
        }  # fmt: skip
        assert set(e["alert"]["message"]) == {"en", "zh-CN"}
    assert events[-1]["alert"]["state"] == "escalated"


def test_timers_fire_between_readings_at_their_due_times() -> None:
    # The next reading comes at 25 min: tiers 1 and 2 fire at 10 and 20 min, before it.
    events = run([*CRISIS, bp(25, 4, 188, 122)])
    assert [(e["event"], e["at"][11:16]) for e in events][3:] == [
        ("escalated", "10:10"),
        ("escalated", "10:20"),
        ("updated", "10:25"),
    ]


def test_acknowledgement_line_stops_escalation() -> None:
    events = run([*CRISIS, ack(6), tick(34)])
    assert [e["event"] for e in events] == ["opened", "updated", "updated", "acknowledged"]
    assert events[-1]["by"] == "dr.li"
    assert events[-1]["at"] == "2026-11-22T10:06:00.000Z"
    assert events[-1]["alert"]["state"] == "acknowledged"
    # After the 30 min silence the acknowledgement lapses and tier 0 hears again.
    later = run([*CRISIS, ack(6), tick(37)])
    assert summary(later)[-1] == ("escalated", "2026-11-22T10:36:00.000Z", "family_doctor")


def test_living_alone_elder_escalates_faster_in_replay() -> None:
    patient = json.dumps({"patient": {"patient_id": "p-001", "lives_alone": True}})
    events = run([patient, *CRISIS, tick(13)])
    escalations = [(at[11:19], tier) for ev, at, tier in summary(events) if ev == "escalated"]
    assert escalations == [
        ("10:05:00", "emergency_contact"),
        ("10:07:30", "on_call_physician"),
        ("10:12:30", "emergency"),
    ]


def test_a_crisis_back_within_the_hold_off_reopens_the_same_alert() -> None:
    lines = [*CRISIS, bp(6, 4, 130, 80), bp(8, 5, 131, 82), bp(30, 6, 196, 128)]
    events = run(lines)
    assert "resolved" in [e["event"] for e in events]
    assert events[-1]["event"] == "updated"
    assert events[-1]["detail"]["reopened"] is True
    assert events[-1]["detail"]["worse"] is True
    assert events[-1]["alert"]["state"] == "open"
    assert events[-1]["alert"]["alert_id"] == events[0]["alert"]["alert_id"]


def test_auto_resolve_then_new_episode_opens_a_new_alert() -> None:
    lines = [*CRISIS, bp(6, 4, 130, 80), bp(8, 5, 131, 82), bp(45, 6, 196, 128)]
    events = run(lines)
    kinds = [e["event"] for e in events]
    assert "resolved" in kinds
    first, second = events[0]["alert"]["alert_id"], events[-1]["alert"]["alert_id"]
    assert events[-1]["event"] == "opened"
    assert first != second
    # No escalation of the resolved episode after it cleared.
    resolved_at = next(e["at"] for e in events if e["event"] == "resolved")
    assert not [e for e in events if e["event"] == "escalated" and e["at"] > resolved_at
                and e["alert"]["alert_id"] == first]  # fmt: skip


def test_without_policy_nothing_escalates() -> None:
    assert [e["event"] for e in run([*CRISIS, tick(60)], policy=False)] == [
        "opened",
        "updated",
        "updated",
    ]


def test_bad_ack_line_is_reported_with_its_line_number() -> None:
    with pytest.raises(ReplayLineError, match="line 2"):
        run([CRISIS[0], json.dumps({"ack": {"code": "bp.hypertensive_crisis"}})])


def test_cli_replay_with_policy_prints_escalations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join([*CRISIS, tick(21)]) + "\n", encoding="utf-8")
    assert main(["replay", str(capture), "--policy", str(POLICY)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in out].count("escalated") == 2
    assert main(["replay", str(capture), "--policy", str(tmp_path / "missing.toml")]) == 2


def call_line(kind: str, minute: float, **extra: object) -> str:
    body = {"code": "emergency.sos", "patient_id": "p-001", "at": ts(minute), "by": "op.wu"}
    return json.dumps({kind: {**body, **extra}})


def test_an_emergency_calls_loop_in_a_replay_file() -> None:
    sos = v1_doc("pendant-1", "event", 1, {"type": "sos"}, ts(0), "p-001")
    lines = [
        json.dumps({"topic": "hm/v1/demo/pendant-1/event", "payload": sos}),
        call_line("ack", 0.5),
        call_line("dispatch", 1, responder="family", name="Daughter", eta_minutes=20),
        tick(21),
        call_line("arrive", 25),
        tick(60),
        call_line("resolve", 61, outcome="handled_at_home"),
    ]
    got = [
        (e["event"], (e.get("detail") or {}).get("escalation", {}).get("reason"))
        for e in run(lines)
    ]
    assert got == [
        ("opened", "opened"),
        ("acknowledged", None),
        ("dispatched", None),
        ("escalated", "no_arrival"),  # the daughter was due at minute 21
        ("arrived", None),
        ("resolved", None),
    ]


def test_two_tenants_p001_in_one_replay_are_two_elders() -> None:
    """Each tenant's "p-001" gets its own crisis; an acknowledgement names which one."""
    lines = [
        line
        for i, (sys_, dia) in enumerate([(190, 124), (195, 126)])
        for line in (
            bp(2 * i, i + 1, sys_, dia, "cuff-e", "east"),
            bp(2 * i + 1, i + 1, sys_, dia, "cuff-w", "west"),
        )
    ]
    opened = [e for e in run([*lines, tick(3)]) if e["event"] == "opened"]
    assert sorted(e["alert"]["tenant"] for e in opened) == ["east", "west"]
    assert {e["alert"]["patient_id"] for e in opened} == {"p-001"}
    assert len({e["alert"]["alert_id"] for e in opened}) == 2
    with pytest.raises(ReplayLineError, match="several tenants"):
        run([*lines, ack(4)])
    acked = [e for e in run([*lines, ack(4, tenant="west")]) if e["event"] == "acknowledged"]
    assert [e["alert"]["tenant"] for e in acked] == ["west"]
