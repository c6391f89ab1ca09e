"""Remote ECG consultation with two signed-in users in real browsers: the family doctor of the
elder's tenant asks from an AF alert, the centre's cardiologist sees it on the worklist within
2 s, claims it, measures an RR interval with the calipers, signs the report, and the family
doctor sees it live and confirms receipt; the audit trail names both."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from gateway.actor import Role
from tests.gateway.web.conftest import (
    CLINICIAN,
    PASSWORD,
    TENANT,
    add_device,
    add_patient,
    publish_all,
    wait_stored,
)
from tests.support.browser import PAGE_ERRORS, LiveGateway, screenshot, sign_in
from tests.support.consult import CENTRE, CENTRE_BODY, af_signal, ecg_messages
from tests.support.servers import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PID = "p-af"
CARDIOLOGIST = "dr.chen"


def seed(gw: LiveGateway, mosquitto: Mosquitto) -> str:
    """The centre, the elder with an ECG patch in AF, and the AF alert's id."""
    gw.add_user(CARDIOLOGIST, Role.CARDIOLOGIST, CENTRE, PASSWORD)
    gw.act_for(CENTRE)
    gw.ok("PUT", f"/consult/centres/{CENTRE}", json={**CENTRE_BODY, "senders": [TENANT]})
    gw.act_for(TENANT)
    add_patient(gw, PID, name="Zhang Lan", birth_year=1941)
    add_device(gw, "patch-af", "ecg", PID)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    messages = ecg_messages(TENANT, "patch-af", start, af_signal())
    publish_all(mosquitto, messages)
    wait_stored(gw, PID, "ecg", (start - timedelta(minutes=1)).isoformat(), len(messages))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alerts = gw.ok("GET", "/alerts", params={"patient_id": PID})
        found = [a for a in alerts if a["code"] == "ecg.af"]
        if found:
            return str(found[0]["alert_id"])
        time.sleep(0.3)
    raise AssertionError("no AF alert")


def signed_in(browser: Browser, url: str, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, url, user, PASSWORD)
    return page


def measure(page: Page, first: int) -> tuple[float, float]:
    """Drag the RR caliper from beat `first` to the next one; (shown ms, analyser's ms)."""
    geo: dict[str, Any] = page.evaluate("() => window.hmgConsult")
    beats, fs = geo["beats"], geo["fs"]
    box = page.locator("#r-strip canvas").bounding_box()
    assert box is not None
    y = box["y"] + 60
    xa = box["x"] + geo["x0"] + beats[first] / fs * geo["pxPerS"]
    xb = box["x"] + geo["x0"] + beats[first + 1] / fs * geo["pxPerS"]
    page.mouse.move(xa, y)
    page.mouse.down()
    page.mouse.move(xb, y, steps=8)
    page.mouse.up()
    shown = page.locator("#cal-values dd[data-measure='RR']").inner_text()
    return float(shown.split()[0]), (beats[first + 1] - beats[first]) / fs * 1000.0


def test_family_doctor_and_cardiologist_exchange_a_reading(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    alert_id = seed(gateway, mosquitto)
    reader = signed_in(browser, gateway.url, CARDIOLOGIST)
    reader.wait_for_selector("body[data-page='consult'] #view[data-loaded='true']")
    doctor = signed_in(browser, gateway.url, CLINICIAN)
    doctor.goto(f"{gateway.url}/#/patients/{PID}/strip/{alert_id}")
    doctor.wait_for_selector("#view[data-loaded='true']", timeout=60000)
    doctor.fill("#cs-question", "New AF? Anticoagulation?")
    doctor.click("#cs-ask")
    asked = time.monotonic()
    reader.wait_for_selector("#c-list tr[data-request]", timeout=5000)
    on_worklist = time.monotonic() - asked
    assert on_worklist < 2.0, f"{on_worklist:.2f} s to the worklist"
    rid = reader.get_attribute("#c-list tr[data-request]", "data-request")
    assert rid
    screenshot(reader, "consult-worklist")

    reader.click(f"#c-list tr[data-request='{rid}'] a")
    reader.wait_for_selector("body[data-page='consult-reading'] #view[data-loaded='true']")
    reader.click("#r-claim")
    reader.wait_for_selector("#r-status[data-status='claimed']")
    reader.wait_for_function("() => window.hmgConsult && window.hmgConsult.beats.length > 4")
    shown, expected = measure(reader, 3)
    assert abs(shown - expected) <= 10.0, (shown, expected)
    reader.check("input[name=finding][value=atrial_fibrillation]")
    reader.fill("#r-text", "Atrial fibrillation, ventricular rate about 80 /min.")
    reader.check("#r-critical")
    screenshot(reader, "consult-reading")
    reader.click("#r-sign")
    reader.wait_for_selector("#r-status[data-status='final']")
    assert "RR" in reader.inner_text("#r-report")

    # The family doctor's page shows the report without reloading, and they confirm receipt.
    item = f"#cs-list li[data-request='{rid}']"
    doctor.wait_for_selector(f"{item}[data-status='final'] .report", timeout=10000)
    assert "Atrial fibrillation" in doctor.inner_text(item)
    tag = doctor.locator(f"#p-alerts tr[data-alert='{alert_id}'] .consult-tag")
    expect(tag).to_contain_text("Atrial fibrillation", timeout=5000)  # on the alert asked about
    doctor.click(f"{item} button[data-receipt]")
    doctor.wait_for_selector(f"{item} .receipt")
    doctor.locator("#consult-panel").scroll_into_view_if_needed()
    screenshot(doctor, "consult-report-back")

    entries = gateway.run(gateway.app.state.gateway.stores.audit.entries(subject_id=rid))
    steps = {(e.actor, e.action) for e in entries}
    assert {(CLINICIAN, "consult.request"), (CARDIOLOGIST, "consult.claim"),
            (CARDIOLOGIST, "consult.final"), (CLINICIAN, "consult.receipt")} <= steps  # fmt: skip
    assert not [e for e in PAGE_ERRORS if "/consult" in e], PAGE_ERRORS
