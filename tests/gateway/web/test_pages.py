"""Every page in both languages with no untranslated text; another tenant's patient is not
found; signed out (or with a dead token) the page goes back to sign-in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from gateway.actor import Role
from gateway.api.policy import POLICY
from gateway.web import STATIC
from tests.gateway.web.conftest import (
    CLINICIAN,
    PASSWORD,
    TENANT,
    add_device,
    add_patient,
    publish_all,
)
from tests.support.browser import LiveGateway, screenshot, sign_in
from tests.support.servers import Mosquitto
from tests.support.wire import v1

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOGUES = {
    lang: json.loads((STATIC / "i18n" / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")
}
CJK = re.compile(r"[\u3400-\u9fff]")
# A time of day; a range of hours of the day (a daypart, "04:00–12:00") is not an instant.
CLOCK = re.compile(r"(?<![\d:–])\d{1,2}:\d{2}(?::\d{2})?(?![\d:–])")
DATED = re.compile(r"\d{4}-\d{2}-\d{2} ")
ADMIN = "admin.east"
AUDITOR = "audit.east"


def test_catalogues_have_the_same_keys_and_every_used_key() -> None:
    en, zh = CATALOGUES["en"], CATALOGUES["zh-CN"]
    assert set(en) == set(zh)
    used: set[str] = set()
    for path in STATIC.rglob("*"):
        if path.suffix in {".js", ".html"}:
            text = path.read_text()
            used |= set(re.findall(r"""data-i18n="([a-z_.]+)\"""", text))
            used |= set(re.findall(r"""\bt\('([a-z_.]+)'""", text))
    assert used
    assert used <= set(en), sorted(used - set(en))


def english_only(text: str) -> set[str]:
    """Catalogue texts of the English catalogue that appear in `text` (zh-CN page)."""
    zh_values = set(CATALOGUES["zh-CN"].values())
    return {
        v for v in CATALOGUES["en"].values()
        if re.search(r"[A-Za-z]{4}", v) and "{" not in v and v not in zh_values and v in text
    }  # fmt: skip


def check_language(page: Page, lang: str, where: str) -> None:
    missing = page.evaluate("() => [...window.hmgMissingKeys]")
    assert missing == [], f"{where}: untranslated keys {missing}"
    times = page.evaluate(
        "() => [...document.querySelectorAll('time[datetime]')].map((e) => e.textContent)"
    )
    undated = [t for t in times if not re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+$", t)]
    assert undated == [], f"{where}: times without date, seconds or zone {undated[:3]}"
    assert page.evaluate("() => document.documentElement.lang") == lang
    # Identifiers shown as code (policy targets, ids) are data, not text of the page; counters
    # (a countdown, time since) are durations, not times.
    text = page.evaluate(
        """() => { const b = document.body.cloneNode(true);
                   const skip = 'code, [data-due], [data-since], svg, dialog:not([open])';
                   for (const c of b.querySelectorAll(skip)) c.remove();
                   document.documentElement.append(b); const s = b.innerText; b.remove();
                   return s; }"""
    )
    # A time of day anywhere in the text comes with its date (2026-12-03 05:44:12).
    bare = [
        m.group(0) for m in CLOCK.finditer(text) if not DATED.match(text, max(0, m.start() - 11))
    ]
    assert bare == [], f"{where}: times without a date {bare[:3]}"
    if lang == "en":
        # Only the language switch and data (names) may be Chinese on the English page.
        leftovers = [line for line in text.splitlines() if CJK.search(line.replace("中文", ""))]
        assert leftovers == [], f"{where}: Chinese text on the English page: {leftovers[:5]}"
    else:
        found = english_only(text)
        assert found == set(), f"{where}: English text on the Chinese page: {sorted(found)[:5]}"


def switch_language(page: Page, lang: str) -> None:
    if page.evaluate("() => document.documentElement.lang") != lang:
        page.locator("#lang:visible, #l-lang:visible").first.click()
        expect(page.locator(f"html[lang='{lang}']")).to_have_count(1)


def walk(
    page: Page, url: str, hashes: list[str], name: str, opens: dict[str, str] | None = None
) -> None:
    """Each page in both languages; `opens` names, per page, what to open before checking (an
    alert's audit trail: its `<details>` summary), so what it shows is checked too."""
    for lang in ("en", "zh-CN"):
        switch_language(page, lang)
        for h in hashes:
            page.goto(f"{url}/{h}")
            page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
            page.wait_for_timeout(300)
            if opens and h in opens:
                page.locator(opens[h]).first.click()
                page.wait_for_selector("details[open] tr[data-action]")
            check_language(page, lang, f"{h} ({lang})")
            screenshot(page, f"{name}-{h.strip('#/').replace('/', '-') or 'home'}-{lang}")


def assert_signed_out(gateway: LiveGateway, token: str) -> None:
    """The access token of a session that signed out gets 401 on every guarded GET route."""
    bearer = {"Authorization": f"Bearer {token}"}
    paths = [p for (m, p), a in POLICY.items() if m == "GET" and not a.public]
    for path in paths:
        concrete = re.sub(r"{\w+}", "x", path)
        r = httpx.get(gateway.url + concrete, headers=bearer, timeout=30)
        assert r.status_code == 401, (path, r.status_code)


def test_every_page_in_both_languages(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(gateway, "p-001", name="Zhang Wei", birth_year=1938, lives_alone=True)
    add_device(gateway, "cuff-001", "bp", "p-001")
    reading = {"systolic": 196, "diastolic": 124, "unit": "mmHg"}
    publish_all(
        mosquitto,
        [(f"hm/v1/{TENANT}/cuff-001/bp", v1("cuff-001", "bp", 1, reading, datetime.now(UTC)))],
    )
    gateway.add_user(ADMIN, Role.ADMIN, TENANT, PASSWORD)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    expect(page.locator("article.qrow[data-patient='p-001']")).to_be_visible(timeout=10000)
    alert_id = page.locator("article.qrow[data-patient='p-001']").get_attribute("data-alert")
    gateway.add_user(AUDITOR, Role.AUDITOR, TENANT, PASSWORD)
    pages = [
        "#/queue",
        "#/patients",
        "#/patients/p-001",
        "#/history",
        f"#/alerts/{alert_id}/report",
    ]
    pages += ["#/followups", "#/consult", "#/settings", "#/nowhere"]
    trail = {"#/patients/p-001": f"details[data-audit='{alert_id}'] summary"}
    walk(page, gateway.url, pages, "clinician", trail)
    # An action dialog in both languages too.
    for lang in ("en", "zh-CN"):
        switch_language(page, lang)
        page.goto(f"{gateway.url}/#/queue")
        page.locator("article.qrow button[data-act='refer']").first.click()
        expect(page.locator("dialog[open]")).to_be_visible()
        check_language(page, lang, f"refer dialog ({lang})")
        page.keyboard.press("Escape")
        expect(page.locator("dialog[open]")).to_have_count(0)
    token = page.evaluate("JSON.parse(sessionStorage.getItem('hmg.session')).token")
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible(timeout=10000)
    assert_signed_out(gateway, token)
    for lang in ("en", "zh-CN"):
        switch_language(page, lang)
        check_language(page, lang, f"sign-in ({lang})")
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(admin, gateway.url, ADMIN, PASSWORD)
    walk(admin, gateway.url, ["#/patients", "#/devices", "#/rosters", "#/settings"], "admin")
    auditor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(auditor, gateway.url, AUDITOR, PASSWORD)
    walk(auditor, gateway.url, ["#/audit"], "auditor", {"#/audit": "details[data-trail] summary"})


def test_other_tenants_patient_is_not_found(gateway: LiveGateway, browser: Browser) -> None:
    gateway.act_for("t-west")
    gateway.ok("PUT", "/patients/p-west", json={"name": "West Patient"})
    gateway.act_for(TENANT)
    add_patient(gateway, "p-own", name="Own Patient")
    page = browser.new_context().new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.goto(f"{gateway.url}/#/patients/p-own")
    expect(page.locator("#p-head h1")).to_have_text("Own Patient", timeout=10000)
    page.goto(f"{gateway.url}/#/patients/p-west")
    expect(page.locator(".notfound h1")).to_be_visible(timeout=10000)
    assert "West Patient" not in page.evaluate("() => document.body.innerText")
    screenshot(page, "not-found")


def test_signed_out_or_expired_goes_to_sign_in(gateway: LiveGateway, browser: Browser) -> None:
    add_patient(gateway, "p-001", name="Zhang Wei")
    page = browser.new_context().new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('hmg.session')") is None
    page.goto(f"{gateway.url}/#/patients/p-001")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#p-head")).to_have_count(0)
    # A token the gateway no longer accepts: the first API call answers 401 -> sign-in.
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.evaluate(
        """() => { const s = JSON.parse(sessionStorage.getItem('hmg.session'));
                   s.token = s.token.slice(0, -4) + 'AAAA';
                   sessionStorage.setItem('hmg.session', JSON.stringify(s)); }"""
    )
    page.goto(f"{gateway.url}/#/patients/p-001")
    expect(page.locator("#login-form")).to_be_visible(timeout=10000)
    expect(page.locator(".login .notice")).to_be_visible()
    # The session's own expiry: back to sign-in without any request.
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.evaluate(
        """() => { const s = JSON.parse(sessionStorage.getItem('hmg.session'));
                   s.expires_at = Date.now() - 1000;
                   sessionStorage.setItem('hmg.session', JSON.stringify(s)); }"""
    )
    page.reload()
    expect(page.locator("#login-form")).to_be_visible(timeout=10000)
    screenshot(page, "signed-out")


def test_api_docs_render_with_no_request_outside_the_gateway(
    gateway: LiveGateway, browser: Browser
) -> None:
    page = browser.new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(gateway.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("hmg", timeout=15000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15000)
    assert requested
    own = (gateway.url, f"blob:{gateway.url}")  # blobs are made by the page itself
    assert [u for u in requested if not u.startswith(own)] == []
