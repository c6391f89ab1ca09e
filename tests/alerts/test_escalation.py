"""Escalation timers on virtual time: tiers at their deadlines, acknowledgement, context rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.escalation import Escalator
from alerts.lifecycle import AlertBook, acknowledge_alert, resolve_alert
from alerts.model import AlertCandidate, AlertEvent, EventType, Priority, State
from alerts.policy import parse_policy_text

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"
POLICY = parse_policy_text(EXAMPLE.read_text(encoding="utf-8"), "toml")
# 10:00 UTC = 18:00 at +08:00, outside the example's quiet hours.
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


class Harness:
    """An alert book plus an escalator, ticked like the processor does."""

    def __init__(self, flags: frozenset[str] = frozenset()) -> None:
        self.book = AlertBook("demo")
        self.esc = Escalator({"demo": POLICY}, flags_for=lambda _pid: flags)
        self.events: list[AlertEvent] = []

    def raise_(self, code: str, at: datetime, priority: Priority | None = None) -> AlertEvent:
        ev = self.book.apply(AlertCandidate("p-001", code, at, priority=priority), at)
        assert ev is not None
        ev = self.esc.observe(ev)
        self.events.append(ev)
        return ev

    def record(self, ev: AlertEvent) -> None:
        self.book.record(ev)
        self.events.append(self.esc.observe(ev))

    def run_until(self, end: datetime) -> list[AlertEvent]:
        """Tick at every due time up to `end` (what `hmg replay` does between readings)."""
        out = []
        while (due := self.esc.next_due()) is not None and due <= end:
            for st in self.esc.due(due):
                alert = self.book.by_id(st.alert_id)
                assert alert is not None
                ev = self.esc.fire(alert, due)
                if ev is not None:
                    self.book.record(ev)
                    out.append(ev)
        self.events.extend(out)
        return out


def tiers(events: list[AlertEvent]) -> list[tuple[float, str, str]]:
    return [
        (
            (e.at - T0).total_seconds() / 60,
            e.detail["escalation"]["tier_name"],
            e.detail["escalation"]["reason"],
        )
        for e in events
    ]


def test_unacknowledged_high_alert_escalates_through_every_tier_at_its_deadlines() -> None:
    h = Harness()
    opened = h.raise_("bp.hypertensive_crisis", T0)
    assert opened.detail["escalation"]["tier_name"] == "family_doctor"
    assert opened.detail["escalation"]["next_due_at"] == "2026-11-22T10:10:00.000Z"
    out = h.run_until(minutes(120))
    assert tiers(out) == [
        (10, "on_call_physician", "deadline"),
        (20, "emergency", "deadline"),
        (35, "emergency", "repeat"),  # emergency tier's 15 min deadline passed
        (45, "emergency", "repeat"),
        (55, "emergency", "repeat"),  # max_repeats = 3, then silence
    ]
    assert all(e.event is EventType.ESCALATED for e in out)
    last = h.book.find("p-001", "bp.hypertensive_crisis")
    assert last is not None
    assert last.state is State.ESCALATED
    assert last.escalation_tier == 2


def test_acknowledgement_stops_escalation_until_the_silence_expires() -> None:
    h = Harness()
    h.raise_("bp.hypertensive_crisis", T0)
    assert h.run_until(minutes(5)) == []
    alert = h.book.find("p-001", "bp.hypertensive_crisis")
    assert alert is not None
    h.record(acknowledge_alert(alert, "dr.li", minutes(5)))
    assert h.run_until(minutes(34)) == []  # no tier-1 escalation at 10 min
    # ack_silence for high is 30 min: at 35 min the acknowledgement lapses and tier 0 is re-notified
    out = h.run_until(minutes(35))
    assert tiers(out) == [(35, "family_doctor", "ack_expired")]
    assert out[0].alert.state is State.OPEN
    assert tiers(h.run_until(minutes(45))) == [(45, "on_call_physician", "deadline")]


def test_resolution_clears_the_timer() -> None:
    h = Harness()
    h.raise_("bp.hypertensive_crisis", T0)
    alert = h.book.find("p-001", "bp.hypertensive_crisis")
    assert alert is not None
    h.record(resolve_alert(alert, minutes(3)))
    assert h.esc.timers() == []
    assert h.run_until(minutes(120)) == []


def test_living_alone_elder_escalates_faster_with_emergency_contact() -> None:
    plain, alone = Harness(), Harness(frozenset({"lives_alone"}))
    for h in (plain, alone):
        h.raise_("bp.hypertensive_crisis", T0)
    assert tiers(plain.run_until(minutes(20))) == [
        (10, "on_call_physician", "deadline"),
        (20, "emergency", "deadline"),
    ]
    assert tiers(alone.run_until(minutes(20))) == [
        (5, "emergency_contact", "deadline"),
        (7.5, "on_call_physician", "deadline"),
        (12.5, "emergency", "deadline"),
        (20, "emergency", "repeat"),
    ]


def test_worse_condition_reopens_notification_after_acknowledgement() -> None:
    h = Harness()
    h.raise_("bp.hypotension", T0)  # medium: 1 h deadline at tier 0
    alert = h.book.find("p-001", "bp.hypotension")
    assert alert is not None
    h.record(acknowledge_alert(alert, "dr.li", minutes(1)))
    worse = h.raise_("bp.hypotension", minutes(2), priority=Priority.HIGH)
    assert worse.event is EventType.UPDATED
    assert worse.detail["worse"] is True
    assert worse.alert.state is State.OPEN
    assert worse.detail["escalation"]["next_due_at"] == "2026-11-22T10:12:00.000Z"
    assert tiers(h.run_until(minutes(12))) == [(12, "on_call_physician", "deadline")]


def test_repeated_readings_do_not_renotify_or_reset_the_deadline() -> None:
    h = Harness()
    h.raise_("bp.hypertensive_crisis", T0)
    for m in (2, 4, 6, 8):
        ev = h.raise_("bp.hypertensive_crisis", minutes(m))
        assert ev.event is EventType.UPDATED
        assert "escalation" not in ev.detail
    assert len({e.alert.alert_id for e in h.events}) == 1
    assert tiers(h.run_until(minutes(10))) == [(10, "on_call_physician", "deadline")]


def test_quiet_hours_defer_medium_but_never_high() -> None:
    night = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 23:00 at +08:00
    h = Harness()
    med = h.book.apply(AlertCandidate("p-001", "bp.hypotension", night), night)
    high = h.book.apply(AlertCandidate("p-001", "bp.hypertensive_crisis", night), night)
    assert med is not None
    assert high is not None
    med_ev, high_ev = h.esc.observe(med), h.esc.observe(high)
    # 07:00 local = 23:00 UTC
    assert med_ev.detail["escalation"]["next_due_at"] == "2026-11-22T23:00:00.000Z"
    assert high_ev.detail["escalation"]["next_due_at"] == "2026-11-22T15:10:00.000Z"


def test_technical_alerts_never_escalate() -> None:
    h = Harness()
    ev = h.book.apply(
        AlertCandidate("p-001", "device.battery_low", T0, params={"device_id": "x", "percent": 5}),
        T0,
    )
    assert ev is not None
    assert "escalation" not in h.esc.observe(ev).detail
    assert h.esc.timers() == []


def test_channel_failure_expedites_the_next_tier() -> None:
    h = Harness()
    opened = h.raise_("bp.hypertensive_crisis", T0)
    assert h.esc.expedite(opened.alert.alert_id, minutes(1))
    assert tiers(h.run_until(minutes(1))) == [(1, "on_call_physician", "deadline")]


def test_manual_escalation_and_changes_for_persistence() -> None:
    h = Harness()
    opened = h.raise_("bp.hypertensive_crisis", T0)
    upserts, deleted = h.esc.changes()
    assert [u.alert_id for u in upserts] == [opened.alert.alert_id]
    assert deleted == []
    ev = h.esc.escalate(opened.alert, minutes(2), "dr.li")
    assert ev.actor == "dr.li"
    assert ev.alert.escalation_tier == 1
    assert ev.detail["escalation"]["next_due_at"] == "2026-11-22T10:12:00.000Z"
    # A restored escalator continues where the old one stopped.
    restored = Escalator({"demo": POLICY}, timers=h.esc.timers())
    assert restored.next_due() == minutes(12)
