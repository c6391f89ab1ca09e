"""One hypoglycaemia is one episode: with tachycardia it shows as the combined alert, and its
glucose alert is part of it (no second escalation timer, no second page of the same tier)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.combined import covering
from alerts.desk import AlertDesk
from alerts.engine import DetectionEngine
from alerts.model import AlertEvent, EventType
from alerts.policy import parse_policy_text
from devices.kinds import Kind
from devices.model import PatientKey, Reading

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"
POLICY = parse_policy_text(EXAMPLE.read_text(encoding="utf-8"), "toml")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 18:00 at +08:00: no quiet hours
LOW, URGENT, HYPO_TACHY = "glucose.low", "glucose.urgent_low", "cv.hypoglycaemia_with_tachycardia"


class Home:
    """One elder's CGM and heart-rate sensor through the real detectors and the desk."""

    def __init__(self) -> None:
        self.engine = DetectionEngine()
        self.desk = AlertDesk({"demo": POLICY})
        self.seq = 0
        self.events: list[AlertEvent] = []

    def read(self, minute: float, kind: Kind, values: dict[str, float]) -> None:
        self.seq += 1
        at = T0 + timedelta(minutes=minute)
        attrs = {"source": "cgm"} if kind is Kind.GLUCOSE else {}
        r = Reading("demo", f"dev-{kind.value}", kind, self.seq, at, at, "p-1", values, attrs)
        result = self.desk.observe(self.engine.process(r), at, reading=r)
        self.events.extend(result.events)

    def until(self, minute: float) -> None:
        end = T0 + timedelta(minutes=minute)
        while (due := self.desk.next_due()) is not None and due <= end:
            self.events.extend(self.desk.tick(due).events)

    def timers(self) -> dict[str, str]:
        """Open alerts by code, with their timer's next action ('' when it has none)."""
        out = {}
        for a in self.desk.active():
            st = self.desk.timer(a.alert_id)
            out[a.code] = st.reason if st is not None else ""
        return out


def test_a_low_with_tachycardia_escalates_once_under_the_combined_alert() -> None:
    home = Home()
    home.read(0, Kind.GLUCOSE, {"glucose": 3.3})
    assert set(home.timers()) == {LOW}
    assert home.timers()[LOW] != ""  # alone, the low escalates on its own
    home.read(1, Kind.HR, {"hr": 132})
    assert set(home.timers()) == {LOW, HYPO_TACHY}
    glucose = home.desk.find_active(PatientKey("demo", "p-1"), LOW)
    combined = home.desk.find_active(PatientKey("demo", "p-1"), HYPO_TACHY)
    assert glucose is not None
    assert combined is not None
    assert covering(home.desk.active(), glucose) == combined
    assert home.timers()[LOW] == ""  # one timer for the episode
    assert home.timers()[HYPO_TACHY] != ""
    # The glucose keeps falling (an urgent low): the episode still pages once.
    home.read(5, Kind.GLUCOSE, {"glucose": 2.8})
    home.read(6, Kind.HR, {"hr": 134})
    assert home.timers() == {URGENT: "", HYPO_TACHY: home.timers()[HYPO_TACHY]}
    home.until(40)
    since = T0 + timedelta(minutes=1)  # the low alone was paged at once, as it should
    notified = [
        (e.alert.code, e.event) for e in home.events if e.escalation is not None and e.at >= since
    ]
    assert {code for code, _ in notified} == {HYPO_TACHY}
    assert (HYPO_TACHY, EventType.ESCALATED) in notified


def test_when_the_tachycardia_ends_first_the_low_escalates_on_its_own_again() -> None:
    home = Home()
    home.read(0, Kind.GLUCOSE, {"glucose": 3.3})
    home.read(1, Kind.HR, {"hr": 132})
    home.read(3, Kind.HR, {"hr": 82})
    assert set(home.timers()) == {LOW}
    assert home.timers()[LOW] != ""
    resolved = [e.alert.code for e in home.events if e.event is EventType.RESOLVED]
    assert resolved == [HYPO_TACHY]


def test_after_a_restart_the_covered_alert_stays_without_timer() -> None:
    home = Home()
    home.read(0, Kind.GLUCOSE, {"glucose": 3.3})
    home.read(1, Kind.HR, {"hr": 132})
    fresh = AlertDesk({"demo": POLICY})
    fresh.load(home.desk.active(), [])  # timers lost: each alert would get one back
    by_code = {a.code: fresh.timer(a.alert_id) for a in fresh.active()}
    assert by_code[LOW] is None
    assert by_code[HYPO_TACHY] is not None
