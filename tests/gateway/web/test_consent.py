"""The patient page's consent panel: a clinician records the elder's consent to share the record
with the regional platform and withdraws it, in both languages; each change is the API's (stored,
audited with before and after) and the page says what is recorded, by whom and when."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from gateway.actor import Role
from tests.gateway.web.conftest import CLINICIAN, PASSWORD, add_patient
from tests.gateway.web.test_pages import check_language, switch_language
from tests.support.browser import LiveGateway, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PID = "p-consent"


def _open(page: Page, url: str) -> None:
    page.goto(f"{url}/#/patients/{PID}")
    expect(page.locator("#consent-state")).to_have_count(1)


def _change(page: Page, note: str) -> None:
    page.locator("#consent button[data-consent]").click()
    page.fill("#f-note", note)
    page.locator("#dialog button[value='ok']").click()
    expect(page.locator("#dialog[open]")).to_have_count(0)


def test_consent_is_recorded_and_withdrawn_on_the_patient_page(
    gateway: LiveGateway, browser: Browser
) -> None:
    add_patient(gateway, PID, name="Zhou Lan")
    page = browser.new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    switch_language(page, "en")
    _open(page, gateway.url)
    state = page.locator("#consent-state")
    expect(state).to_have_attribute("data-status", "none")
    expect(state).to_contain_text("Not recorded: nothing is shared")
    expect(page.locator("#consent button[data-consent]")).to_have_text("Record consent")
    _change(page, "signed at the community clinic")
    expect(state).to_have_attribute("data-status", "active")
    expect(state).to_contain_text("Given: the record is shared")
    expect(state).to_contain_text(f"by {CLINICIAN}")
    expect(state).to_contain_text("signed at the community clinic")
    check_language(page, "en", "consent panel (en)")
    screenshot(page, "clinician-consent-en")
    stored = gateway.ok("GET", f"/patients/{PID}/consent")
    assert (stored["status"], stored["recorded_by"]) == ("active", CLINICIAN)

    switch_language(page, "zh-CN")
    _open(page, gateway.url)
    expect(state).to_contain_text("已同意：档案共享")
    expect(page.locator("#consent button[data-consent]")).to_have_text("撤回同意")
    _change(page, "家属来电撤回")
    expect(state).to_have_attribute("data-status", "withdrawn")
    expect(state).to_contain_text("已撤回：不再共享")
    check_language(page, "zh-CN", "consent panel (zh-CN)")
    screenshot(page, "clinician-consent-zh-CN")
    assert gateway.ok("GET", f"/patients/{PID}/consent")["status"] == "withdrawn"
    auditor = {"Authorization": f"Bearer {gateway.token(Role.AUDITOR)}"}
    r = gateway.api("GET", "/audit", params={"subject_id": PID}, headers=auditor)
    assert r.status_code == 200, r.text
    actions = [e["action"] for e in r.json()["entries"]]
    assert actions.count("consent.record") == 1
    assert actions.count("consent.withdraw") == 1
    page.close()
