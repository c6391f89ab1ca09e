"""The follow-ups page: a clinician sees the elders' follow-ups soonest first, an overdue one
marked as told to the team lead, marks a due one done (the next is planned), and the results
notices sent to elders with their state, in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from alerts.roster import CareTeam, Member
from devices.model import utcnow
from gateway.runtime.service import Gateway
from gateway.storage.followups import FollowupStore, FollowupTask
from gateway.storage.notices import NoticeStore, ResultsNotice
from tests.gateway.web.conftest import CLINICIAN, PASSWORD, TENANT, add_patient
from tests.gateway.web.test_pages import check_language, switch_language
from tests.support.browser import LiveGateway, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_follow_ups_page(gateway: LiveGateway, browser: Browser) -> None:
    gw: Gateway = gateway.app.state.gateway
    now = utcnow()
    add_patient(gateway, "p-htn", name="Li Na", conditions="高血压", care_team="fd-1")
    add_patient(gateway, "p-late", name="Wang Bo", conditions="hypertension", care_team="fd-1")
    gateway.run(gw.stores.rosters.put_member(Member("m-lead", TENANT, "Dr Chen", role="lead"), now))
    gateway.run(
        gw.stores.rosters.put_team(CareTeam("fd-1", TENANT, "FD 1", members=("m-lead",)), now)
    )
    # p-late's routine follow-up was due a week ago: the next step escalates it to the lead.
    late = FollowupTask(
        "fu-late", TENANT, "p-late", "hypertension.routine", "hypertension: 4 follow-ups a year",
        now - timedelta(days=40), now - timedelta(days=7),
    )  # fmt: skip
    gateway.run(FollowupStore(gw.db).put(late))
    gateway.run(gw.followups.step())
    told = ResultsNotice(
        "rn-1", TENANT, "p-htn", "kiosk", now - timedelta(hours=2), now - timedelta(hours=1),
        now + timedelta(days=30), {lang: {"title": "t", "body": "b"} for lang in ("en", "zh-CN")},
    )  # fmt: skip
    gateway.run(NoticeStore(gw.db).add(told))
    page = browser.new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    switch_language(page, "en")
    page.goto(f"{gateway.url}/#/followups")
    rows = page.locator("#f-body tbody tr")
    expect(rows).to_have_count(2)
    first = rows.nth(0)  # soonest due first: the overdue one
    expect(first).to_have_attribute("data-state", "overdue")
    expect(first).to_contain_text("Told to team lead m-lead")
    expect(rows.nth(1)).to_have_attribute("data-state", "due")
    expect(rows.nth(1)).to_contain_text("Hypertension, routine follow-up")
    notice = page.locator("#n-body tr[data-notice='rn-1']")
    expect(notice).to_have_attribute("data-state", "pending")
    expect(notice).to_contain_text("Kiosk visit")
    check_language(page, "en", "#/followups (en)")
    screenshot(page, "clinician-followups-en")
    task_id = rows.nth(1).get_attribute("data-task")
    rows.nth(1).locator("button.done").click()
    # Done ones are hidden; the next one of the same rule is planned a quarter later.
    expect(page.locator(f"#f-body tr[data-task='{task_id}']")).to_have_count(0)
    expect(page.locator("#f-body tbody tr")).to_have_count(2)
    page.check("#f-all")
    expect(page.locator("#f-body tbody tr[data-state='done']")).to_have_count(1)
    expect(page.locator("#f-body tbody tr[data-state='due']")).to_have_count(1)  # the next one
    switch_language(page, "zh-CN")
    page.goto(f"{gateway.url}/#/followups")
    expect(page.locator("#f-body tbody tr").first).to_contain_text("已逾期")
    check_language(page, "zh-CN", "#/followups (zh-CN)")
    screenshot(page, "clinician-followups-zh-CN")
    done = [t for t in gateway.ok("GET", "/followups") if t["state"] == "done"]
    assert [t["done_by"] for t in done] == [CLINICIAN]
    page.close()
