"""The alert history page: resolved alerts with the missed ones marked, filtered by outcome,
priority and kind, each with its audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts.lifecycle import open_alert, resolve_alert
from alerts.model import AlertCandidate, AlertEvent
from gateway.storage import AlertRecord
from tests.gateway.web.conftest import CLINICIAN, PASSWORD, TENANT, add_patient
from tests.support.browser import LiveGateway, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def seed_history(gw: LiveGateway, patient_id: str) -> dict[str, str]:
    """Three resolved alerts of the last hours: two ended on their own, one closed by hand."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    opened: dict[str, AlertEvent] = {}
    for i, code in enumerate(("ecg.af", "glucose.high", "bp.hypertensive_crisis")):
        at = t0 + timedelta(minutes=10 * i)
        opened[code] = open_alert(TENANT, AlertCandidate(patient_id, code, at), at)
    later = t0 + timedelta(hours=1)
    events = list(opened.values())
    events += [resolve_alert(opened[c].alert, later) for c in ("ecg.af", "glucose.high")]
    events.append(resolve_alert(opened["bp.hypertensive_crisis"].alert, later, CLINICIAN))
    records = gw.app.state.gateway.stores.records
    gw.run(records.commit(AlertRecord(at=later, events=events)))
    return {code: e.alert.alert_id for code, e in opened.items()}


def shown(page: Page, outcome: str, kind: str = "") -> dict[str, str]:
    page.select_option("#f-outcome", outcome)
    page.select_option("#f-kind", kind)
    page.wait_for_selector(f"#hi-list[data-filter='{outcome}|{kind}'][aria-busy='false']")
    rows = page.locator("#hi-list tr[data-alert]")
    return {
        rows.nth(i).get_attribute("data-alert") or "": rows.nth(i).get_attribute("data-missed")
        or ""
        for i in range(rows.count())
    }


def test_history_of_resolved_and_missed_alerts_with_filters(
    gateway: LiveGateway, browser: Browser
) -> None:
    add_patient(gateway, "p-001", name="Zhang Wei")
    ids = seed_history(gateway, "p-001")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.click("nav a[href='#/history']")
    assert shown(page, "all") == {
        ids["ecg.af"]: "true",
        ids["glucose.high"]: "true",
        ids["bp.hypertensive_crisis"]: "false",
    }
    assert shown(page, "missed") == {ids["ecg.af"]: "true", ids["glucose.high"]: "true"}
    assert shown(page, "missed", "ecg") == {ids["ecg.af"]: "true"}
    assert shown(page, "handled") == {ids["bp.hypertensive_crisis"]: "false"}
    expect(page.locator("#hi-count")).to_have_text("1 alerts, 0 missed")
    trail = page.locator(f"details[data-trail='{ids['bp.hypertensive_crisis']}']")
    trail.locator("summary").click()
    expect(trail.locator("tr[data-action='resolved']")).to_contain_text(CLINICIAN)
    shown(page, "all")
    screenshot(page, "history-en")
