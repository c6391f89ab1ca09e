"""A kiosk visit told to every elder, end to end: `hmg simulate` (its own process) publishes the
shipped `kiosk_visit` scenario through a real Mosquitto to the gateway (real MQTT ingest, SQLite,
results desk, outbox) and its SMS/e-mail channels post to a local provider. Each elder gets one
notice in zh-CN and English, delivered to their phone and recorded (notice, delivery log, audit);
the elder whose only contact cannot be reached is tried again and raises a technical alert."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.roster import Contact, Member
from devices.model import PatientKey, utcnow
from devices.registry import Device
from devices.timeparse import format_ts
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.notices import NoticeState, NoticeStore
from gateway.storage.patients import Patient
from simulator.scenario import load
from tests.support.provider import Provider
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "simulator" / "scenarios" / "kiosk_visit.toml"
TENANT = "sim"  # the simulator's tenant
KIOSK = "kiosk-0001"
UNREACHABLE = "p-013"  # their only contact is a number no SMS provider takes


@pytest.fixture
async def gw(
    mosquitto: Mosquitto, tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("HMG_FOLLOWUP_ENABLED", "false")
    monkeypatch.setenv("HMG_RESULTS_QUIET_S", "0")
    monkeypatch.setenv("HMG_RESULTS_INTERVAL_S", "0.2")
    monkeypatch.setenv("HMG_RESULTS_TENANTS", f'{{"{TENANT}": 1}}')  # told within a day
    settings = Settings(
        mode="test", data_dir=tmp_path / "gw", mqtt_port=mosquitto.port,
        mqtt_client_id="gw-kiosk", late_after_s=86400.0, sms_url=provider.url("sms"),
        email_url=provider.url("email"),
    )  # fmt: skip
    g = Gateway(settings)
    await g.start()
    assert g.ingest is not None
    assert await g.ingest.wait_connected(10)
    yield g
    await g.stop()


async def _register(g: Gateway, elders: list[str]) -> None:
    """The kiosk as a shared device, the elders, and each one's contacts: their own phone (in
    their language) and a son's e-mail; the unreachable elder has only a bad number."""
    now = utcnow()
    kiosk = Device(KIOSK, TENANT, "kiosk", kiosk=True)
    await g.stores.patients.save_device(kiosk, now)
    g.registry.put(kiosk)
    for i, pid in enumerate(elders):
        await g.stores.patients.save_patient(Patient(pid, TENANT, now))
        g.registry.admit(pid, TENANT)
        if pid == UNREACHABLE:
            family = [Member(f"{pid}-self", TENANT, "Elder", role="self",
                             contacts=(Contact("sms", "not-a-phone"),))]  # fmt: skip
        else:
            family = [
                Member(f"{pid}-self", TENANT, "Elder", role="self", lang="zh-CN",
                       contacts=(Contact("sms", f"+86139000000{i:02d}"),)),
                Member(f"{pid}-son", TENANT, "Son", role="son", lang="en",
                       contacts=(Contact("email", f"son{i}@example.org"),)),
            ]  # fmt: skip
        await g.stores.rosters.set_emergency_contacts(PatientKey(TENANT, pid), family)


def _simulate(port: int, start: str) -> str:
    """`hmg simulate scenario` as its own process, flat out; its summary line."""
    done = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "scenario", str(SCENARIO), "--port", str(port),
         "--speed", "0", "--start", start, "--client-id", "kiosk-sim"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


async def test_a_simulated_kiosk_visit_tells_each_elder_once_in_both_languages(
    gw: Gateway, mosquitto: Mosquitto, provider: Provider
) -> None:
    scenario = load(SCENARIO)
    elders = [p.patient_id for p in scenario.patients]
    assert len(elders) == 4
    await _register(gw, elders)
    assert gw.results is not None
    gw.results.sender.backoff_s = 0.05  # retries come quickly
    gw.results.sender.sweep_s = 0.1  # and are found again as soon as they are due
    gw.results.sender.grace_s = 0.0
    start = format_ts(utcnow() - timedelta(hours=1))  # the visit ended ~20 minutes ago
    summary = await asyncio.to_thread(_simulate, mosquitto.port, start)
    assert "published 8/8" in summary, summary
    store = NoticeStore(gw.db)

    async def settled() -> bool:
        found = await store.query(TENANT)
        reached = [n for n in found if n.delivered_at is not None]
        raised = await gw.stores.alerts.query(tenant=TENANT, code="notify.channel_failed")
        return len(found) == 4 and len(reached) == 3 and bool(raised)

    for _ in range(600):
        if await settled():
            break
        await asyncio.sleep(0.05)
    notices = await store.query(TENANT)
    assert sorted(n.patient_id for n in notices) == sorted(elders)  # one per elder
    by_elder = {n.patient_id: n for n in notices}
    for pid, n in by_elder.items():
        assert set(n.texts) == {"zh-CN", "en"}
        assert n.source == "kiosk"
        assert "Blood pressure" in n.texts["en"]["body"]
        assert "Blood sugar" in n.texts["en"]["body"]
        assert "血压" in n.texts["zh-CN"]["body"]
        assert "血糖" in n.texts["zh-CN"]["body"]
        assert n.deadline_at - n.created_at == timedelta(days=1)
        if pid != UNREACHABLE:
            assert n.state(utcnow()) is NoticeState.DELIVERED
            assert n.delivered_to is not None
            assert n.delivered_to.startswith("sms:+86139")  # the elder's own phone first
    # What the simulated hypertensive elder measured is said against their target.
    assert "above your target" in by_elder[UNREACHABLE].texts["en"]["body"]
    # Delivered: one message to each reachable elder's phone, each in both languages.
    sent = provider.messages()
    assert sorted(path for path, _ in sent) == sorted(
        f"/sms/+86139000000{i:02d}" for i, pid in enumerate(elders) if pid != UNREACHABLE
    )
    for _, body in sent:
        assert "您的健康检查结果" in body["title"]
        assert "Your health check results" in body["message"]
    # Recorded: every delivery attempt in the delivery log and the audit trail.
    for pid, n in by_elder.items():
        log = await gw.stores.deliveries.of_alert(n.notice_id)
        statuses = [d.status for d in log]
        assert ("delivered" in statuses) == (pid != UNREACHABLE), (pid, statuses)
    audit = [e.action for e in await gw.stores.audit.entries(limit=2000)]
    assert audit.count("results.notice.composed") == 4
    assert audit.count("results.notice.delivered") == 3
    assert audit.count("results.notice.failed") >= 3
    # The unreachable elder's notice was retried and raised a technical alert, still pending.
    lost = by_elder[UNREACHABLE]
    assert lost.delivered_at is None
    assert lost.attempts >= 3
    assert lost.last_error == "no contact reached"
    assert lost.state(utcnow()) is NoticeState.PENDING
    (alert,) = await gw.stores.alerts.query(tenant=TENANT, code="notify.channel_failed")
    assert (alert.patient_id, alert.evidence["channel"]) == (UNREACHABLE, "results")
    assert alert.technical
