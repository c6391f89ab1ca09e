"""Keyboard-only use of the queue's actions, and WCAG AA contrast of the page's texts in day and
night mode, measured on the rendered page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

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

COLOURS = (Path(__file__).parent / "colours.js").read_text()
TEXTS = [
    "body", ".top a", ".top button", ".who", ".live", "h1", ".counts", ".badge", ".tag", ".mark",
    ".pname", ".age", ".lbl", ".ago", ".none", ".msg", ".kv", ".tier", ".due", ".acts button",
]  # fmt: skip


def luminance(c: list[float]) -> float:
    def channel(v: float) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_keyboard_only_acknowledge_and_contrast(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(gateway, "p-001", name="Zhao Min", lives_alone=True, disability=True)
    add_device(gateway, "cuff-001", "bp", "p-001")
    reading = {"systolic": 210, "diastolic": 118, "unit": "mmHg"}
    payload = v1("cuff-001", "bp", 1, reading, datetime.now(UTC))
    publish_all(mosquitto, [(f"hm/v1/{TENANT}/cuff-001/bp", payload)])
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    row = page.locator("article.qrow[data-patient='p-001']")
    expect(row).to_be_visible(timeout=10000)
    alert_id = row.get_attribute("data-alert")

    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.act === 'ack'"):
            break
    else:
        raise AssertionError("the acknowledge button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_have_count(1)
    assert page.evaluate("() => document.activeElement.id") == "f-comment"
    page.keyboard.type("seen, calling")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert gateway.ok("GET", f"/alerts/{alert_id}")["state"] == "acknowledged"
    # Escape closes a dialog without acting, and focus goes back to where it was.
    page.locator("article.qrow button[data-act='escalate']").focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert page.evaluate("() => document.activeElement.dataset.act") == "escalate"

    for mode in ("day", "night"):
        if mode == "night":
            page.click("#night")
            expect(page.locator("body.night")).to_have_count(1)
            expect(row).to_be_visible()
        measured = page.evaluate(f"({COLOURS})({TEXTS!r})")
        assert len(measured) > 20
        poor = [
            (sel, fg, bg, round(contrast(fg, bg), 2))
            for sel, fg, bg in measured
            if contrast(fg, bg) < 4.5
        ]
        assert poor == [], f"{mode}: texts below WCAG AA 4.5:1: {poor[:5]}"
        screenshot(page, f"queue-{mode}")
