"""The triage queue in a real browser: a reading published to Mosquitto appears live, an
acknowledgement from the page reaches the API and the audit trail, and a second page follows."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, expect

from tests.gateway.web.conftest import CLINICIAN, PASSWORD, TENANT, add_device, add_patient
from tests.support.browser import LiveGateway, screenshot, sign_in
from tests.support.servers import Mosquitto
from tests.support.wire import v1

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def publish(mosquitto: Mosquitto, topic: str, payload: bytes) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="cuff-publisher")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        pub.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        pub.loop_stop()
        pub.disconnect()


def test_alert_appears_live_and_ack_reaches_api_and_other_page(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(gateway, "p-001", name="Wang Xiuying", birth_year=1941, lives_alone=True)
    add_device(gateway, "cuff-001", "bp", "p-001")
    user, password = CLINICIAN, PASSWORD
    first = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    second = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    for page in (first, second):
        sign_in(page, gateway.url, user, password)
        expect(page.locator("#q-list .empty")).to_be_visible()
        expect(page.locator("body[data-live='live']")).to_have_count(1)

    reading = {"systolic": 204, "diastolic": 126, "pulse": 96, "unit": "mmHg"}
    now = datetime.now(UTC)
    t0 = time.monotonic()
    publish(mosquitto, f"hm/v1/{TENANT}/cuff-001/bp", v1("cuff-001", "bp", 1, reading, now))
    row = first.locator("article.qrow[data-patient='p-001']")
    row.wait_for(timeout=5000)
    assert time.monotonic() - t0 < 2.0, "the alert took longer than 2 s to reach the queue"
    expect(row).to_contain_text("204/126 mmHg")
    assert row.locator(".c-alert").inner_text().count("204/126") == 1  # said once
    expect(row).to_contain_text("Wang Xiuying")
    expect(row).to_contain_text("Lives alone")
    # The escalation countdown: the family doctor's tier has 10 minutes for a high alert.
    due = row.locator(".due time[data-due]")
    expect(due).to_have_text(re.compile(r"^(9:[0-5]\d|10:00)$"), timeout=2000)
    before = due.inner_text()
    first.wait_for_timeout(2100)
    assert due.inner_text() != before
    expect(second.locator("article.qrow[data-patient='p-001']")).to_be_visible(timeout=2000)
    screenshot(first, "queue-live-alert")

    alert_id = row.get_attribute("data-alert")
    assert alert_id
    row.get_by_role("button", name="Acknowledge").click()
    first.fill("#f-comment", "called the daughter, on my way")
    first.locator("dialog button[value=ok]").click()
    expect(first.locator("dialog[open]")).to_have_count(0)

    alert = gateway.ok("GET", f"/alerts/{alert_id}")
    assert alert["state"] == "acknowledged"
    assert alert["acknowledged_by"] == user
    audit = gateway.ok("GET", f"/alerts/{alert_id}/audit")
    acks = [e for e in audit if e["action"] == "acknowledged"]
    assert acks
    assert acks[0]["by"] == user
    assert any(e["detail"].get("text") == "called the daughter, on my way" for e in audit)
    other = second.locator("article.qrow[data-patient='p-001']")
    expect(other.locator(".tag.acked")).to_be_visible(timeout=2000)
    expect(other.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot(second, "queue-acknowledged-second-page")

    # Assign to me: bookkeeping, not a lifecycle event, yet the other page follows at once.
    row.get_by_role("button", name="Assign to me").click()
    expect(other.locator(".c-assignee")).to_contain_text(user, timeout=2000)
    assert gateway.ok("GET", f"/alerts/{alert_id}")["assignee"] == user
    # Resolve: the row leaves both pages.
    row.get_by_role("button", name="Resolve").click()
    first.locator("dialog button[value=ok]").click()
    expect(first.locator("article.qrow[data-patient='p-001']")).to_have_count(0, timeout=2000)
    expect(other).to_have_count(0, timeout=2000)
    assert gateway.ok("GET", f"/alerts/{alert_id}")["state"] == "resolved"


def test_an_sos_is_pinned_and_answered_dispatched_attended_and_closed_from_the_page(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(gateway, "p-002", name="Li Guilan", birth_year=1937, lives_alone=True)
    add_device(gateway, "cuff-002", "bp", "p-002")
    add_device(gateway, "pendant-002", "event", "p-002")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    expect(page.locator("body[data-live='live']")).to_have_count(1)
    now = datetime.now(UTC)
    crisis = {"systolic": 204, "diastolic": 126, "unit": "mmHg"}
    publish(mosquitto, f"hm/v1/{TENANT}/cuff-002/bp", v1("cuff-002", "bp", 1, crisis, now))
    expect(page.locator("article.qrow.high")).to_have_count(1, timeout=5000)
    t0 = time.monotonic()
    sos = v1("pendant-002", "event", 1, {"type": "sos", "location": {"room": "kitchen"}}, now)
    publish(mosquitto, f"hm/v1/{TENANT}/pendant-002/event", sos)
    first = page.locator("#q-list article.qrow").first
    expect(first).to_have_class(re.compile(r"\bemergency\b"), timeout=5000)
    assert time.monotonic() - t0 < 2.0, "the SOS took longer than 2 s to reach the queue"
    expect(page.locator("#q-alarm")).not_to_be_empty()
    expect(first.locator(".due")).to_contain_text("answer within")  # the 60 s answer clock
    alert_id = first.get_attribute("data-alert")
    assert alert_id
    screenshot(page, "queue-sos-pinned")

    first.get_by_role("button", name="Acknowledge").click()
    page.locator("dialog button[value=ok]").click()
    expect(first.get_by_role("button", name="Send help")).to_be_visible(timeout=3000)
    first.get_by_role("button", name="Send help").click()
    page.select_option("#f-responder", "community")
    page.fill("#f-name", "Zhao Min")
    page.fill("#f-contact", "+8613800000009")
    page.fill("#f-eta_minutes", "15")
    page.locator("dialog button[value=ok]").click()
    expect(first.locator(".going")).to_contain_text("Zhao Min", timeout=3000)
    expect(first.locator(".due")).to_contain_text("help due on site in")
    screenshot(page, "queue-sos-dispatched")
    first.get_by_role("button", name="Help arrived").click()
    expect(first.locator(".tag")).to_contain_text("Help on site", timeout=3000)
    first.get_by_role("button", name="Resolve").click()
    page.select_option("#f-outcome", "handled_at_home")
    page.locator("dialog button[value=ok]").click()
    expect(page.locator(f"article.qrow[data-alert='{alert_id}']")).to_have_count(0, timeout=3000)

    trail = gateway.ok("GET", f"/alerts/{alert_id}/audit")
    steps = [(e["action"], e["by"]) for e in trail if e["kind"] == "event"]
    for step in ("acknowledged", "dispatched", "arrived", "resolved"):
        assert (step, CLINICIAN) in steps, (step, steps)
    resolved = next(e for e in trail if e["kind"] == "event" and e["action"] == "resolved")
    assert resolved["detail"]["outcome"] == "handled_at_home"
    # The centre's service figures on the page: this call was answered and attended in time.
    page.goto(f"{gateway.url}/#/settings")
    figs = page.locator("#s-figs")
    expect(figs.locator("[data-fig='answered_60s'] dd")).to_have_text("100.0 %", timeout=5000)
    expect(figs.locator("[data-fig='on_site_45min'] dd")).to_have_text("100.0 %")
    assert int(figs.locator("[data-fig='calls'] dd").inner_text()) >= 1


def test_a_crisis_that_clears_on_its_own_stays_until_a_clinician_reviews_it(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(gateway, "p-003", name="Chen Lan", birth_year=1940)
    add_device(gateway, "cuff-003", "bp", "p-003")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    expect(page.locator("body[data-live='live']")).to_have_count(1)
    now = datetime.now(UTC)
    topic = f"hm/v1/{TENANT}/cuff-003/bp"
    publish(mosquitto, topic, v1("cuff-003", "bp", 1, {"systolic": 200, "diastolic": 124}, now))
    row = page.locator("article.qrow[data-patient='p-003']")
    expect(row).to_have_count(1, timeout=5000)
    for seq in (2, 3):  # back to normal: the crisis resolves with nobody having acted
        normal = {"systolic": 128, "diastolic": 80}
        publish(mosquitto, topic, v1("cuff-003", "bp", seq, normal, now + timedelta(minutes=seq)))
    expect(row.locator(".tag.review")).to_be_visible(timeout=5000)
    page.reload()  # the server keeps it too
    expect(row.locator(".tag.review")).to_be_visible(timeout=5000)
    screenshot(page, "queue-unreviewed")
    alert_id = row.get_attribute("data-alert")
    row.get_by_role("button", name="Mark reviewed").click()
    expect(row).to_have_count(0, timeout=3000)
    trail = gateway.ok("GET", f"/alerts/{alert_id}/audit")
    assert [(e["action"], e["by"]) for e in trail if e["kind"] == "action"] == [
        ("review", CLINICIAN)
    ]
