"""The record's push to a FHIR-validating platform process: consent starts it (the whole record
at once), new readings follow, withdrawal stops it, failures are retried through the outbox and
every attempt is audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devices.model import utcnow
from gateway.actor import Actor, Role
from gateway.api.app import create_app
from gateway.fhir.consent import record_consent
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.consents import ConsentStatus
from tests.support.auth import auth_headers
from tests.support.platform import Platform
from tests.support.record import seed_record
from tests.support.wire import v1

pytestmark = pytest.mark.integration


@pytest.fixture
def platform(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Platform]:
    fail_first = getattr(request, "param", 0)
    p = Platform(tmp_path / "platform.db", fail_first=fail_first).start()
    yield p
    p.stop()


@pytest.fixture
async def gw(
    tmp_path: Path, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    for k, v in platform.env.items():
        monkeypatch.setenv(k, v)
    g = Gateway(Settings(mode="test", data_dir=tmp_path))
    await g.start(mqtt=False)
    assert g.platform is not None
    await seed_record(g, utcnow(), "p-1")
    await seed_record(g, utcnow(), "p-2")
    yield g
    await g.stop()


async def _bp(g: Gateway, patient: str, seq: int, systolic: int) -> None:
    data = {"systolic": systolic, "diastolic": 80, "unit": "mmHg"}
    topic = f"hm/v1/t1/cuff-{patient}/bp"
    await g.pipeline.handle(
        [Inbound(topic, v1(f"cuff-{patient}", "bp", seq, data, utcnow()), utcnow())]
    )


async def _wait(platform: Platform, want: dict[str, int]) -> dict[str, object]:
    return await asyncio.to_thread(platform.wait_for, want)


async def _settled(g: Gateway) -> None:
    """The pushes sent are answered and recorded (delivered or failed, audited)."""
    assert g.platform is not None
    await asyncio.wait_for(g.platform.sender.drain(), 10)


async def test_consent_shares_the_record_and_withdrawal_stops_it(
    gw: Gateway, platform: Platform
) -> None:
    app = create_app(gateway=gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(app)
    ) as c:
        assert (await c.get("/patients/p-1/consent")).status_code == 404
        r = await c.put("/patients/p-1/consent", json={"status": "active", "note": "signed"})
        assert r.status_code == 200
        assert r.json()["status"] == "active"
        # The whole record at once: patient, two devices, the consent, 3 BP + 1 glucose, the
        # summary.
        want = {"Patient": 1, "Device": 2, "Consent": 1, "Observation": 4, "Bundle": 1}
        await _wait(platform, want)
        await _bp(gw, "p-1", 10, 150)
        stats = await _wait(platform, {"Observation": 5})
        assert platform.read("Observation/cuff-p-1-10") is not None
        assert platform.read("Patient/p-2") is None  # no consent recorded for p-2
        consent = next(k for k in stats["received"] if k.startswith("Consent/"))  # type: ignore[attr-defined]
        assert platform.read(consent)["status"] == "active"  # type: ignore[index]
        summary = next(k for k in stats["received"] if k.startswith("Bundle/"))  # type: ignore[attr-defined]
        assert platform.read(summary)["type"] == "document"  # type: ignore[index]
        r = await c.put("/patients/p-1/consent", json={"status": "withdrawn"})
        assert r.json()["status"] == "withdrawn"
        await _bp(gw, "p-1", 11, 151)
        await asyncio.sleep(1.0)  # several gathering steps
        assert platform.read("Observation/cuff-p-1-11") is None
        assert platform.stats()["resources"]["Observation"] == 5
        await _settled(gw)
        other = auth_headers(app, tenant="t2")
        assert (await c.get("/patients/p-1/consent", headers=other)).status_code == 404
    audit = await gw.stores.audit.entries(subject_id="p-1")
    actions = [e.action for e in audit]
    assert actions.count("consent.record") == 1
    assert actions.count("consent.withdraw") == 1
    pushed = [e for e in audit if e.action == "platform.push.delivered"]
    assert len(pushed) >= 2
    assert all(e.actor == "system:platform-push" and e.tenant == "t1" for e in pushed)


@pytest.mark.parametrize("platform", [2], indirect=True)
async def test_a_refused_push_is_retried_until_the_platform_takes_it(
    gw: Gateway, platform: Platform
) -> None:
    assert gw.platform is not None
    dr = Actor(user="dr.li", role=Role.CLINICIAN, tenant="t1", client="tests")
    await record_consent(gw, dr, "p-2", ConsentStatus.ACTIVE, None)
    await _wait(platform, {"Patient": 1, "Observation": 4})
    await _settled(gw)
    assert platform.stats()["transactions"] >= 3  # two refused, then applied
    audit = await gw.stores.audit.entries(subject_id="p-2")
    outcomes = [e.action for e in audit if e.action.startswith("platform.push")]
    assert outcomes.count("platform.push.failed") == 2, outcomes
    assert outcomes[-1] == "platform.push.delivered", outcomes
