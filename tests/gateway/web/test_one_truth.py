"""One episode, one row, one figure: a low with tachycardia is one queue row with one escalation
timer; a heart rate is said once per alert; on the ECG strip an alert's episode carries the
alert's own rate, and overlapping AF and tachycardia keep their own bands and labels."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from devices.timeparse import format_ts
from tests.alerts.ecg.ecg_synth import synth_ecg
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
from tests.support.wire import v1_doc

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FS = 250.0
GAIN = 200


def wait_alerts(gw: LiveGateway, pid: str, codes: set[str]) -> dict[str, Any]:
    deadline = datetime.now(UTC) + timedelta(seconds=120)
    found: dict[str, Any] = {}
    while datetime.now(UTC) < deadline:
        found = {a["code"]: a for a in gw.ok("GET", "/alerts", params={"patient_id": pid})}
        if codes <= set(found):
            return found
    raise AssertionError(f"alerts {sorted(found)} of {sorted(codes)}")


def test_a_low_with_tachycardia_is_one_row_with_one_timer(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    pid = "p-004"
    add_patient(gateway, pid, name="Chen Lan", birth_year=1940)
    add_device(gateway, "cgm-004", "glucose", pid)
    add_device(gateway, "hr-004", "hr", pid)
    now = datetime.now(UTC).replace(microsecond=0)
    glucose = {"value": 3.3, "unit": "mmol/L", "source": "cgm"}
    later = now + timedelta(seconds=30)
    low = v1_doc("cgm-004", "glucose", 1, glucose, now)
    fast = v1_doc("hr-004", "hr", 1, {"value": 132}, later)
    publish_all(
        mosquitto,
        [
            (f"hm/v1/{TENANT}/cgm-004/glucose", json.dumps(low).encode()),
            (f"hm/v1/{TENANT}/hr-004/hr", json.dumps(fast).encode()),
        ],
    )
    wait_alerts(gateway, pid, {"glucose.low", "cv.hypoglycaemia_with_tachycardia"})
    queue = {i["code"]: i for i in gateway.ok("GET", "/queue")["items"] if i["patient_id"] == pid}
    combined = queue["cv.hypoglycaemia_with_tachycardia"]
    assert queue["glucose.low"]["part_of"] == combined["alert_id"]
    assert queue["glucose.low"]["escalation"] is None  # one timer for the episode
    assert combined["escalation"] is not None
    for lang, rate in (("en", r"\d+ /min"), ("zh-CN", r"\d+ (次/分|/min)")):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.add_init_script(
            f"localStorage.setItem('hmg.prefs', JSON.stringify({{lang: '{lang}'}}))"
        )
        sign_in(page, gateway.url, CLINICIAN, PASSWORD)
        rows = page.locator(f"article.qrow[data-patient='{pid}']")
        expect(rows).to_have_count(1, timeout=10000)
        expect(rows.locator(".due time[data-due]")).to_have_count(1)
        expect(
            rows.locator(f".others li[data-alert='{queue['glucose.low']['alert_id']}']")
        ).to_be_visible()
        head = rows.locator(".c-alert").inner_text()
        assert len(re.findall(rate, head)) == 1, head  # the heart rate once
        screenshot(page, f"queue-one-episode-{lang}")
    # Referring the episode offers to take over the elder's other open alert (checked).
    page.locator(f"article.qrow[data-patient='{pid}'] .c-acts button[data-act='refer']").click()
    low_id = queue["glucose.low"]["alert_id"]
    expect(page.locator(f"#take-{low_id}")).to_be_checked()
    screenshot(page, "refer-takeover-zh-CN")
    page.fill("#f-target_org", "City Hospital")
    page.fill("#f-department", "Endocrinology")
    page.fill("#f-reason", "hypoglycaemia with tachycardia")
    page.locator("#dialog button[value='ok']").click()
    expect(page.locator("dialog[open]")).to_have_count(0, timeout=10000)
    low = gateway.ok("GET", f"/alerts/{low_id}")
    assert low["state"] == "acknowledged"
    assert low["acknowledged_by"] == CLINICIAN
    trail = gateway.ok("GET", f"/alerts/{low_id}/audit")
    (ack,) = [e for e in trail if e["kind"] == "action" and e["action"] == "acknowledge"]
    assert combined["alert_id"] in ack["detail"]["text"]


def test_strip_shows_the_alerts_rate_and_overlapping_episodes_apart(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    pid = "p-003"
    add_patient(gateway, pid, name="Wu Fang", birth_year=1937)
    add_device(gateway, "patch-003", "ecg", pid)
    rr = list(np.random.default_rng(5).uniform(0.33, 0.6, 200))  # fast AF, about 130 /min
    adc = np.round(synth_ecg(FS, rr, atrial="f", seed=2, wander=0.05) * GAIN).astype(np.int16)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    chunk = int(2 * FS)
    messages = []
    for k, i in enumerate(range(0, adc.size, chunk)):
        data = {"fs": FS, "lead": "II", "gain": GAIN, "samples": adc[i : i + chunk].tolist()}
        doc = v1_doc("patch-003", "ecg", k + 1, data, start + timedelta(seconds=i / FS))
        messages.append((f"hm/v1/{TENANT}/patch-003/ecg", json.dumps(doc).encode()))
    publish_all(mosquitto, messages)
    alerts = wait_alerts(gateway, pid, {"ecg.af", "ecg.tachycardia"})
    tachy = alerts["ecg.tachycardia"]
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.goto(f"{gateway.url}/#/patients/{pid}/strip/{tachy['alert_id']}")
    page.wait_for_selector("#view[data-loaded='true']", timeout=60000)
    page.wait_for_function("() => window.hmgEcg && window.hmgEcg.episodes.length > 1")
    geo = page.evaluate("() => ({episodes: hmgEcg.episodes, shown: hmgEcg.shown})")
    lanes = {e["label"]: e["lane"] for e in geo["episodes"]}
    assert lanes["AF"] != lanes["tachycardia"]  # each kind in its own band
    for lane in set(lanes.values()):
        spans = sorted(e["labelX"] for e in geo["episodes"] if e["lane"] == lane and "labelX" in e)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    (mine,) = [e for e in geo["shown"] if e.get("alert")]
    assert mine["label"] == "tachycardia"
    rate = round(tachy["evidence"]["heart_rate"])
    assert mine["mean_hr"] == pytest.approx(tachy["evidence"]["heart_rate"])
    labelled = [e["text"] for e in geo["episodes"] if e.get("text", "").endswith("(the alert's)")]
    assert labelled == [f"Tachycardia {rate} /min (the alert's)"]
    # Nothing else claims a tachycardia where the alert's episode is.
    t0 = datetime.fromisoformat(page.evaluate("() => hmgEcg.start").replace("Z", "+00:00"))
    a0 = datetime.fromisoformat(tachy["evidence"]["episode"]["start"].replace("Z", "+00:00")) - t0
    first = max(0, round(a0.total_seconds() * FS))
    others = [e for e in geo["shown"] if e["label"] == "tachycardia" and not e.get("alert")]
    assert all(e["end"] <= first or e["start"] >= mine["end"] for e in others)
    assert format_ts(t0)
    screenshot(page, "patient-ecg-episodes")
