"""The consultation exchange in FHIR R4 validates against the R4 models, and the report points
at the request and the ECG Observation; the printable strip is at true scale."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.consult import ConsultRequest, Reading
from gateway.actor import Actor, Role
from gateway.api.consult_models import CentreIn
from gateway.consult.fhir import exchange
from gateway.consult.printview import print_page
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.clock import VirtualClock
from tests.support.consult import CENTRE, CENTRE_BODY, seed_af
from tests.support.fhir import resources_of, validate

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DR = Actor("dr.li", Role.CLINICIAN, "t-east")
READER = Actor("dr.chen", Role.CARDIOLOGIST, CENTRE)


@pytest.fixture
async def reported(tmp_path: Path) -> AsyncIterator[ConsultRequest]:
    clock = VirtualClock(NOW)
    gw = Gateway(Settings(mode="test", data_dir=tmp_path), clock=clock)
    await gw.start(mqtt=False)
    try:
        await seed_af(gw, NOW, "p-east", "t-east", NOW - timedelta(minutes=3))
        admin = Actor("admin", Role.ADMIN, CENTRE)
        await gw.consult.save_centre(admin, CentreIn(**CENTRE_BODY).centre(CENTRE))
        af = next(a for a in await gw.stores.alerts.active() if a.code == "ecg.af")
        q = await gw.consult.request(DR, "p-east", question="New AF?", alert_id=af.alert_id)
        clock.advance(timedelta(minutes=4))
        await gw.consult.claim(READER, q.request_id)
        clock.advance(timedelta(minutes=6))
        reading = Reading(
            ("atrial_fibrillation", "poor_quality"), "Rate controlled",
            {"RR": 702.0, "QRS": 88.0, "QT": 380.0, "QTc": 452.0}, critical=True,
        )  # fmt: skip
        await gw.consult.report(READER, q.request_id, reading)
        clock.advance(timedelta(minutes=1))
        await gw.consult.confirm(DR, q.request_id)
        yield await gw.consult.visible(DR, q.request_id)
    finally:
        await gw.stop()


def by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in resources_of(bundle):
        out.setdefault(r["resourceType"], []).append(r)
    return out


def test_the_exchange_validates_and_the_report_points_at_request_and_ecg(
    reported: ConsultRequest,
) -> None:
    bundle = exchange(reported, "http://gw/fhir")
    validate(bundle)
    for r in resources_of(bundle):
        validate(r)
    res = by_type(bundle)
    (sr,) = res["ServiceRequest"]
    assert sr["code"]["coding"][0]["code"] == "45033-8"
    assert sr["priority"] == "urgent"
    (task,) = res["Task"]
    assert task["focus"]["reference"] == f"ServiceRequest/{sr['id']}"
    assert task["status"] == "completed"
    assert task["owner"]["display"] == "dr.chen"
    assert task["restriction"]["period"]["end"] == "2026-12-01T09:00:00.000Z"
    (report,) = res["DiagnosticReport"]
    assert report["basedOn"] == [{"reference": f"ServiceRequest/{sr['id']}"}]
    ecg = next(o for o in res["Observation"] if "component" in o)
    results = {r["reference"] for r in report["result"]}
    assert f"Observation/{ecg['id']}" in results
    assert len(results) == 5  # four measurements and the waveform
    snomed = [c["coding"][0] for c in report["conclusionCode"]]
    assert snomed[0] == {"system": "http://snomed.info/sct", "code": "49436004",
                         "display": "Atrial fibrillation"}  # fmt: skip
    assert snomed[1]["system"] == "urn:hmg:ecg-finding"  # no SNOMED concept: local code only
    sampled = ecg["component"][0]["valueSampledData"]
    assert len(sampled["data"].split()) == len(reported.ecg.samples)
    assert sampled["period"] == 4.0
    back = next(c for c in res["Communication"] if "about" in c)
    assert back["received"] == "2026-12-01T08:11:00.000Z"  # the read-back
    assert back["priority"] == "stat"


def test_the_printed_strip_is_at_true_scale(reported: ConsultRequest) -> None:
    page = print_page(reported)
    widths = [float(w) for w in re.findall(r'<svg class="strip" width="([\d.]+)mm"', page)]
    assert sum(widths) == pytest.approx(reported.ecg.seconds * 25.0, abs=0.05)
    assert max(widths) == pytest.approx(250.0)  # ten seconds a row
    assert page.count('class="beat"') == len(reported.ecg.beats)
    assert "49436004" in page
    assert "Receipt confirmed by dr.li" in page
