"""An overdue follow-up reaches the team lead: one SMS through the outbox, in the lead's
language first; a lead nobody can reach raises a technical alert after three tries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.roster import CareTeam, Contact, Member
from devices.model import utcnow
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.followups import FollowupStore, FollowupTask
from gateway.storage.patients import Patient, Profile
from tests.support.provider import Provider


async def _overdue(g: Gateway, lead_contacts: tuple[Contact, ...]) -> None:
    now = utcnow()
    lead = Member("m-lead", "t1", "Dr Chen", role="lead", lang="en", contacts=lead_contacts)
    await g.stores.rosters.put_member(lead, now)
    await g.stores.rosters.put_team(CareTeam("fd-1", "t1", "FD", members=("m-lead",)), now)
    profile = Profile(conditions="高血压")
    await g.stores.patients.save_patient(
        Patient("p-1", "t1", now, care_team="fd-1", profile=profile)
    )
    late = FollowupTask("fu-1", "t1", "p-1", "hypertension.routine", "r", now - timedelta(days=40),
                        now - timedelta(days=3))  # fmt: skip
    await FollowupStore(g.db).put(late)


async def _until(pred: object, seconds: float = 15.0) -> None:
    assert callable(pred)
    for _ in range(int(seconds / 0.05)):
        if await pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_the_lead_hears_of_an_overdue_follow_up(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMG_FOLLOWUP_INTERVAL_S", "0.1")
    g = Gateway(Settings(mode="test", data_dir=tmp_path, sms_url=provider.url("sms")))
    await g.start(mqtt=False)
    await _overdue(g, (Contact("sms", "+8613900000001"),))

    async def sent() -> bool:
        return bool(provider.messages())

    await _until(sent)
    await asyncio.sleep(0.5)  # later steps do not tell the lead again
    # At least once (a copy is possible when a slow send meets the outbox sweep), one notice.
    assert len({(p, m["title"], m["message"]) for p, m in provider.messages()}) == 1
    ((path, msg), *_) = provider.messages()
    assert path.startswith("/sms/")
    assert msg["title"] == "Overdue follow-up: p-1"
    assert "随访逾期" in msg["message"]
    (t,) = await FollowupStore(g.db).query("t1")
    assert t.escalated_to == "m-lead"
    await g.stop()


async def test_an_unreachable_lead_raises_a_technical_alert(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMG_FOLLOWUP_INTERVAL_S", "0.1")
    g = Gateway(Settings(mode="test", data_dir=tmp_path, sms_url=provider.url("sms")))
    await g.start(mqtt=False)
    g.followups.sender.backoff_s = 0.05
    g.followups.sender.sweep_s = 0.1  # retries are found again as soon as they are due
    g.followups.sender.grace_s = 0.0
    await _overdue(g, (Contact("sms", "no-phone"),))

    async def raised() -> bool:
        return bool(await g.stores.alerts.query(tenant="t1", code="notify.channel_failed"))

    await _until(raised)
    (alert,) = await g.stores.alerts.query(tenant="t1", code="notify.channel_failed")
    assert alert.evidence["channel"] == "followup"
    await g.stop()
