"""Print: the patient report and the alert report under print media, on A4 landscape: no
navigation or buttons, and the ECG in 10-second rows at true scale (25 mm/s, 10 mm/mV)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.alerts.ecg.ecg_synth import synth_ecg
from tests.gateway.web.conftest import (
    CLINICIAN,
    PASSWORD,
    TENANT,
    add_device,
    add_patient,
    publish_all,
)
from tests.support.browser import SCREENSHOTS, LiveGateway, screenshot, sign_in
from tests.support.servers import Mosquitto
from tests.support.wire import v1_doc

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FS = 250.0
GAIN = 200
MM = 96 / 25.4  # CSS px per millimetre on paper

PRINT_ROWS = """() => [...document.querySelectorAll('.ecg-print canvas')].map((c) => {
  const r = c.getBoundingClientRect();
  const d = c.dataset;
  return { width: r.width, height: r.height,
           seconds: (c.width / Number(d.pxPerMm) - 10) / 25, pxPerMm: Number(d.pxPerMm),
           speed: Number(d.speed), gain: Number(d.gain),
           visible: r.width > 0 && getComputedStyle(c).display !== 'none' };
})"""


def seed_ecg(gw: LiveGateway, mosquitto: Mosquitto, pid: str) -> dict[str, Any]:
    add_patient(gw, pid, name="Wu Fang", birth_year=1937, conditions="Hypertension")
    add_device(gw, f"patch-{pid}", "ecg", pid)
    rr = list(np.random.default_rng(5).uniform(0.33, 0.6, 200))
    adc = np.round(synth_ecg(FS, rr, atrial="f", seed=2, wander=0.05) * GAIN).astype(np.int16)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    chunk = int(2 * FS)
    messages = []
    for k, i in enumerate(range(0, adc.size, chunk)):
        data = {"fs": FS, "lead": "II", "gain": GAIN, "samples": adc[i : i + chunk].tolist()}
        doc = v1_doc(f"patch-{pid}", "ecg", k + 1, data, start + timedelta(seconds=i / FS))
        messages.append((f"hm/v1/{TENANT}/patch-{pid}/ecg", json.dumps(doc).encode()))
    publish_all(mosquitto, messages)
    deadline = datetime.now(UTC) + timedelta(seconds=120)
    while datetime.now(UTC) < deadline:
        found = {a["code"]: a for a in gw.ok("GET", "/alerts", params={"patient_id": pid})}
        if "ecg.tachycardia" in found:
            return dict(found["ecg.tachycardia"])
    raise AssertionError("no tachycardia alert")


def check_printed(page: Page, name: str) -> list[dict[str, Any]]:
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.getElementById('top')).display") == "none"
    assert page.locator("button:visible").count() == 0
    rows: list[dict[str, Any]] = page.evaluate(PRINT_ROWS)
    assert rows, "the ECG is printed"
    for r in rows:
        assert r["visible"]
        assert (r["pxPerMm"], r["speed"], r["gain"]) == (pytest.approx(MM), 25, 10)
        # True scale: the canvas is 10 mm of calibration plus 25 mm per second, in paper mm.
        assert r["width"] == pytest.approx((10 + 25 * r["seconds"]) * MM, abs=2)
        assert r["height"] == pytest.approx(40 * MM, abs=2)
        assert r["seconds"] <= 10.05  # a row fits an A4 landscape page (277 mm printable)
    screenshot(page, f"print-{name}")
    pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    (SCREENSHOTS / f"print-{name}.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")
    return rows


def test_patient_and_alert_reports_print_at_true_scale(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    tachy = seed_ecg(gateway, mosquitto, "p-005")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.goto(f"{gateway.url}/#/patients/p-005")
    page.wait_for_selector("#view[data-loaded='true']", timeout=60000)
    expect(page.locator("#p-print")).to_be_visible()
    rows = check_printed(page, "patient-en")
    assert len(rows) >= 6  # the minute shown, in 10 s rows
    page.locator(f"tr[data-alert='{tachy['alert_id']}'] a[href$='/report']").click()
    page.wait_for_selector("#view[data-loaded='true'] .report[aria-busy='false']", timeout=30000)
    expect(page.locator(".report h1")).to_contain_text("Tachycardia")
    expect(page.locator("#r-trail tr[data-action='opened']")).to_have_count(1)
    check_printed(page, "alert-en")
    labels = page.evaluate(
        "() => [...document.querySelectorAll('.ecg-print figcaption')].map((f) => f.textContent)"
    )
    assert all("25 mm/s · 10 mm/mV" in x for x in labels)
