"""Elders as people on the page: the patient list searched by name, id, condition and care team;
the tenant administrator edits an elder's profile, emergency contacts, care team and rosters on
the page, and the page warns while an escalation tier reaches nobody."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from gateway.actor import Role
from tests.gateway.web.conftest import CLINICIAN, PASSWORD, TENANT, add_patient
from tests.support.browser import LiveGateway, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ADMIN = "admin.east"


def rows(page: Page) -> list[str]:
    page.wait_for_selector("#pl-list[aria-busy='false']")
    found: list[str] = page.eval_on_selector_all(
        "#pl-list tr[data-patient]", "rs => rs.map(r => r.dataset.patient)"
    )
    return found


def search(page: Page, text: str, expected: list[str]) -> None:
    page.fill("#pl-q", text)
    quoted = text.replace('"', '\\"')
    page.wait_for_selector(f'#pl-list[data-q="{quoted}"][aria-busy="false"]', timeout=10000)
    assert rows(page) == expected


def test_patient_list_search_and_administrator_edits(
    gateway: LiveGateway, browser: Browser
) -> None:
    gateway.add_user(ADMIN, Role.ADMIN, TENANT, PASSWORD)
    add_patient(gateway, "p-001", name="Zhang Wei", conditions="Hypertension")
    add_patient(gateway, "p-002", name="Li Na", conditions="Atrial fibrillation", lives_alone=True)
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(admin, gateway.url, ADMIN, PASSWORD)

    # Rosters: the demo policy's tiers reach nobody until a team and a rotation exist.
    admin.goto(f"{gateway.url}/#/rosters")
    warn = admin.locator("#r-cover .warnbox")
    expect(warn.locator("li[data-tier='on_call_physician']:not([data-patient])")).to_have_count(1)
    admin.click("button[data-edit='members']")
    admin.fill("#f-key", "dr-wang")
    admin.fill("#f-name", "Dr Wang")
    admin.fill("#f-sms", "+8613800000001")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("tr[data-member='dr-wang']")).to_be_visible(timeout=10000)
    admin.click("button[data-edit='teams']")
    admin.fill("#f-key", "gp-river")
    admin.fill("#f-name", "Riverside family doctors")
    admin.check("#f-m-dr-wang")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("tr[data-team='gp-river']")).to_contain_text("Dr Wang", timeout=10000)
    admin.click("button[data-edit='rotations']")
    admin.fill("#f-key", "oncall-physicians")
    admin.check("#f-m-dr-wang")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("tr[data-rotation='oncall-physicians'] .now")).to_contain_text("Dr Wang")
    expect(warn.locator("li[data-tier='on_call_physician']")).to_have_count(0)
    expect(warn.locator("li[data-patient='p-001'][data-tier='family_doctor']")).to_have_count(1)
    screenshot(admin, "rosters-edit-en")

    # The administrator gives p-001 its care team and p-002 an emergency contact on the page.
    admin.click("nav a[href='#/patients']")
    assert rows(admin) == ["p-001", "p-002"]
    expect(admin.locator("tr[data-patient='p-001'] [data-gap]")).to_be_visible()
    admin.click("button[data-edit='p-001']")
    admin.select_option("#f-care_team", "gp-river")
    admin.select_option("#f-sex", "male")
    admin.fill("#f-birth_year", "1938")
    admin.fill("#f-allergies", "Penicillin")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("tr[data-patient='p-001'] [data-gap]")).to_have_count(0, timeout=10000)
    expect(admin.locator("tr[data-patient='p-001']")).to_contain_text("Riverside family doctors")
    admin.click("button[data-edit='p-002']")
    admin.fill("#f-ec0_name", "Li Ming")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("#dialog .error")).to_be_visible()  # a contact needs a phone too
    admin.fill("#f-ec0_relation", "son")
    admin.fill("#f-ec0_phone", "+8613900000002")
    admin.select_option("#f-care_team", "gp-river")
    admin.click("#dialog button[value='ok']")
    expect(admin.locator("tr[data-patient='p-002'] [data-gap]")).to_have_count(0, timeout=10000)
    admin.click("button[data-edit='p-002']")
    expect(admin.locator("#f-ec0_phone")).to_have_value("+8613900000002")
    admin.keyboard.press("Escape")
    screenshot(admin, "patients-admin-en")
    trail = gateway.ok(
        "GET", "/audit", headers={"Authorization": f"Bearer {gateway.token(Role.AUDITOR)}"}
    )
    done = {(e["action"], e["subject_type"], e["subject_id"], e["by"]) for e in trail["entries"]}
    assert ("put", "patient", "p-001", ADMIN) in done
    assert ("put", "emergency_contacts", "p-002", ADMIN) in done
    assert ("put", "team", "gp-river", ADMIN) in done

    # The clinician finds elders by name, id, condition and care team, and opens one.
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.click("nav a[href='#/patients']")
    assert rows(page) == ["p-001", "p-002"]
    search(page, "zhang", ["p-001"])
    search(page, "fibrill", ["p-002"])
    search(page, "riverside", ["p-001", "p-002"])
    search(page, "P-002", ["p-002"])
    search(page, "nobody", [])
    expect(page.locator("#pl-list .empty")).to_be_visible()
    search(page, "", ["p-001", "p-002"])
    page.click("tr[data-patient='p-001'] a.pname")
    expect(page.locator("#p-head h1")).to_have_text("Zhang Wei", timeout=10000)
    expect(page.locator("#p-head [data-field='allergies']")).to_contain_text("Penicillin")
    # Only the tenant's own gap is left: no emergency team in the roster yet.
    expect(page.locator("#p-gaps")).to_have_text("⚠ tier “emergency services” reaches nobody")
    screenshot(page, "patients-list-en")
