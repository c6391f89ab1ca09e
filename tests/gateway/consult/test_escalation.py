"""A stat request nobody claims escalates at its deadline on virtual time, through the alert
desk: the next cardiologist on the centre's roster, then the centre lead; a restart of the
gateway in between keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.consult import ConsultPriority, Reading
from alerts.model import AlertEvent, EventType
from gateway.actor import Actor, Role
from gateway.api.consult_models import CentreIn
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.clock import VirtualClock
from tests.support.consult import CENTRE, CENTRE_BODY, seed_af

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DR = Actor("dr.li", Role.CLINICIAN, "t-east")
ADMIN = Actor("admin.c", Role.ADMIN, CENTRE)


def escalations(events: list[AlertEvent]) -> list[tuple[int, tuple[str, ...]]]:
    """(tier, targets) of the centre-side escalations among `events`."""
    return [
        (e.escalation.tier, e.escalation.targets)
        for e in events
        if e.event is EventType.ESCALATED and e.alert.code == "consult.request" and e.escalation
    ]


async def test_unclaimed_stat_request_escalates_at_its_deadline_across_a_restart(
    tmp_path: Path,
) -> None:
    clock = VirtualClock(NOW)
    settings = Settings(mode="test", data_dir=tmp_path, tick_interval_s=3600)
    gw = Gateway(settings, clock=clock)
    await gw.start(mqtt=False)
    await seed_af(gw, NOW, "p-east", "t-east", NOW - timedelta(minutes=3))
    await gw.consult.save_centre(ADMIN, CentreIn(**CENTRE_BODY).centre(CENTRE))
    af = next(a for a in await gw.stores.alerts.active() if a.code == "ecg.af")
    q = await gw.consult.request(
        DR, "p-east", question="VT?", alert_id=af.alert_id, priority=ConsultPriority.STAT
    )
    assert q.due_at == NOW + timedelta(minutes=10)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert escalations(await gw.pipeline.tick()) == []
    await gw.stop()

    gw = Gateway(settings, clock=clock)  # a restart: the request and its timer are stored
    await gw.start(mqtt=False)
    try:
        clock.advance(timedelta(seconds=2))
        assert escalations(await gw.pipeline.tick()) == [(1, ("member:dr.zhou",))]
        clock.advance(timedelta(minutes=10))
        assert escalations(await gw.pipeline.tick()) == [(2, ("member:dr.wu",))]
        stored = await gw.stores.alerts.events(q.escalation_id or "")
        assert [s.event for s in stored].count(EventType.ESCALATED) == 2
        # The report, once final, stops the centre's escalation.
        reader = Actor("dr.zhou", Role.CARDIOLOGIST, CENTRE)
        await gw.consult.claim(reader, q.request_id)
        await gw.consult.report(reader, q.request_id, Reading(("atrial_fibrillation",), "", {}))
        assert gw.desk.find(q.escalation_id or "") is None
        clock.advance(timedelta(hours=1))
        assert escalations(await gw.pipeline.tick()) == []
    finally:
        await gw.stop()
