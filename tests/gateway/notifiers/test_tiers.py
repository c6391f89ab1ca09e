"""The escalation tier's people are paged through the outbox: a gateway that dies between
storing a crisis and sending the SMS pages the tier after its restart, once, and records it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.roster import CareTeam, Contact, Member
from devices.registry import Binding, Device
from gateway.flow.intake import Inbound
from gateway.notifiers.tiers import TIER_CHANNEL
from gateway.policies import load_policy
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.patients import Patient
from tests.support.clock import VirtualClock
from tests.support.provider import Provider, local_provider
from tests.support.wire import v1

POLICY = load_policy(Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml")
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def gateway(tmp_path: Path, provider: Provider, clock: VirtualClock) -> Gateway:
    settings = Settings(
        mode="test", data_dir=tmp_path, tick_interval_s=3600, sms_url=provider.url("sms")
    )
    return Gateway(settings, clock=clock, policies={"demo": POLICY})


async def until(pred: object, seconds: float = 10.0) -> None:
    assert callable(pred)
    for _ in range(int(seconds / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_page_stored_with_the_crisis_is_sent_after_a_crash(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    with local_provider() as provider:
        gw = gateway(tmp_path, provider, clock)
        await gw.start(mqtt=False)
        doc = Member("dr.li", "demo", "Dr Li", lang="en",
                     contacts=(Contact("sms", "+8613800000001"),))  # fmt: skip
        await gw.stores.rosters.put_member(doc, T0)
        await gw.stores.rosters.put_team(CareTeam("fd", "demo", "GPs", members=("dr.li",)), T0)
        await gw.stores.patients.save_patient(Patient("p-001", "demo", T0, care_team="fd"))
        cuff = Device("cuff-1", "demo", "bp", bindings=(Binding("p-001", T0 - timedelta(1)),))
        await gw.stores.patients.save_device(cuff, T0)
        gw.registry.put(cuff)
        # The process dies right after the crisis and its notices are committed: nothing is
        # handed to the sender (and its sweep, on the stopped clock, finds nothing due yet).
        gw.notifications.hand = lambda stored: None  # type: ignore[method-assign]
        data = {"systolic": 196, "diastolic": 126, "unit": "mmHg"}
        msg = Inbound("hm/v1/demo/cuff-1/bp", v1("cuff-1", "bp", 1, data, T0), T0)
        (opened,) = (await gw.pipeline.handle([msg])).events
        alert_id = opened.alert.alert_id
        pending = [e for e, sent in await gw.stores.outbox.of_alert(alert_id) if sent is None]
        assert TIER_CHANNEL in {e.channel for e in pending}
        await gw.stop()
        assert provider.messages() == []
        # Back up: the sweep finds the page and sends it.
        clock.advance_to(T0 + timedelta(seconds=30))
        gw = gateway(tmp_path, provider, clock)
        await gw.start(mqtt=False)
        try:
            await until(lambda: len(provider.messages()) == 1)
            await gw.notifications.drain()
            (path, body) = provider.messages()[0]
            assert path == "/sms/+8613800000001"
            assert "New alert" in str(body["title"])
            tier = [(e, sent) for e, sent in await gw.stores.outbox.of_alert(alert_id)
                    if e.channel == TIER_CHANNEL]  # fmt: skip
            assert len(tier) == 1
            assert tier[0][1] is not None  # delivered
            sms = [d for d in await gw.stores.deliveries.of_alert(alert_id) if d.channel == "sms"]
            assert [(d.target, d.status) for d in sms] == [("+8613800000001", "delivered")]
            await asyncio.sleep(0.5)
            assert len(provider.messages()) == 1  # once
        finally:
            await gw.stop()
