"""The patient page in a real browser: glucose figures equal those computed from the stored
readings, and the ECG strip is drawn on true paper scale with the analyser's beats and AF."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from alerts.ecg import EcgAnalyzer
from alerts.glycaemia import RANGES, summarise
from devices.timeparse import format_ts, parse_ts
from tests.alerts.ecg.ecg_synth import synth_ecg
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
from tests.support.servers import Mosquitto
from tests.support.wire import v1_doc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PID = "p-002"
TZ = "Asia/Shanghai"
FS = 250.0
GAIN = 200  # ADC units per mV


def cgm_history(now: datetime) -> tuple[list[datetime], np.ndarray]:
    """14 days of 5-minute CGM readings with a daily swing, lows at night and highs after meals."""
    start = now - timedelta(days=14) + timedelta(minutes=5)
    times = [start + timedelta(minutes=5 * i) for i in range(4020)]
    hours = np.array([(t.hour + 8) % 24 + t.minute / 60 for t in times])  # Shanghai time
    rng = np.random.default_rng(11)
    mmol = 7.5 + 4.0 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 1.5, len(times))
    return times, np.round(np.clip(mmol, 2.2, 22.0), 1)


def ecg_signal() -> np.ndarray:
    rr = list(np.random.default_rng(5).uniform(0.45, 1.0, 66))
    x = synth_ecg(FS, rr, atrial="f", seed=2, wander=0.05)
    return np.round(x * GAIN).astype(np.int16)


def seed(gw: LiveGateway, mosquitto: Mosquitto, now: datetime) -> tuple[np.ndarray, datetime]:
    add_patient(gw, PID, name="Li Guihua", birth_year=1939, disability=True, care_team="team-1")
    for device, kind in (("cuff-002", "bp"), ("cgm-002", "glucose"), ("patch-002", "ecg")):
        add_device(gw, device, kind, PID)
    messages: list[tuple[str, bytes]] = []
    times, mmol = cgm_history(now)
    docs = [
        v1_doc(
            "cgm-002", "glucose", i + 1, {"value": float(g), "unit": "mmol/L", "source": "cgm"}, t
        )
        for i, (t, g) in enumerate(zip(times, mmol, strict=True))
    ]
    for i in range(0, len(docs), 288):
        messages.append((f"hm/v1/{TENANT}/cgm-002/glucose", json.dumps(docs[i : i + 288]).encode()))
    bp: list[dict[str, Any]] = []
    for d in range(30):
        for hour, (s, di) in ((7, (152, 92)), (20, (138, 84))):
            ts = (now - timedelta(days=30 - d)).replace(hour=hour - 8 if hour >= 8 else hour + 16)
            bp.append(
                v1_doc(
                    "cuff-002",
                    "bp",
                    len(bp) + 1,
                    {"systolic": s + d % 5, "diastolic": di, "unit": "mmHg"},
                    ts,
                )
            )
    messages.append((f"hm/v1/{TENANT}/cuff-002/bp", json.dumps(bp).encode()))
    adc = ecg_signal()
    ecg_start = now - timedelta(minutes=3)
    chunk = int(2 * FS)
    for k, i in enumerate(range(0, adc.size, chunk)):
        data = {"fs": FS, "lead": "II", "gain": GAIN, "samples": adc[i : i + chunk].tolist()}
        ts = ecg_start + timedelta(seconds=i / FS)
        messages.append(
            (
                f"hm/v1/{TENANT}/patch-002/ecg",
                json.dumps(v1_doc("patch-002", "ecg", k + 1, data, ts)).encode(),
            )
        )
    publish_all(mosquitto, messages)
    wait_stored(gw, PID, "glucose", format_ts(now - timedelta(days=15)), len(docs))
    wait_stored(gw, PID, "bp", format_ts(now - timedelta(days=31)), len(bp))
    wait_stored(gw, PID, "ecg", format_ts(ecg_start - timedelta(minutes=1)), -(-adc.size // chunk))
    return adc, ecg_start


def open_patient(page: Page, url: str) -> None:
    page.goto(f"{url}/#/patients/{PID}")
    try:
        page.wait_for_selector("#view[data-loaded='true']", timeout=60000)
    except PlaywrightTimeout:
        text = page.inner_text("#ecg-panel")[-700:]
        raise AssertionError(f"patient page did not load: {text!r} {PAGE_ERRORS[-3:]}") from None


MEASURE_GRID = (Path(__file__).parent / "measure_ecg.js").read_text()


TIR_ROWS = """() => [...document.querySelectorAll('#tir tr[data-range]')].map((tr) => [
  tr.dataset.range, Number(tr.dataset.percent)])"""
AGP_TABLE = """() => [...document.querySelectorAll('#agp-table tbody tr')].map((tr) => [
  Number(tr.dataset.minute),
  ['p05', 'p25', 'p50', 'p75', 'p95'].map((q) => {
    const td = tr.querySelector(`td[data-q="${q}"]`);
    return [Number(td.dataset.mmol), td.textContent];
  }),
])"""


def test_glucose_figures_equal_the_stored_readings(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seed(gateway, mosquitto, now)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id=TZ).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    open_patient(page, gateway.url)
    stored = gateway.ok(
        "GET",
        f"/history/{PID}/readings",
        params={"kind": "glucose", "start": format_ts(now - timedelta(days=14)), "limit": 10000},
    )["readings"]
    cgm = [r for r in stored if r["attrs"].get("source") == "cgm"]
    expected = summarise(
        [parse_ts(r["ts"]) for r in cgm],
        [r["values"]["glucose"] for r in cgm],
        start=now - timedelta(days=14),
        end=now,
        tz=TZ,
    )
    shown = dict(page.evaluate(TIR_ROWS))
    assert shown == {r.code: r.percent for r in expected.ranges}
    assert set(shown) == set(RANGES)
    assert shown["very_low"] > 0  # every band is exercised
    assert shown["very_high"] > 0
    for r in expected.ranges:
        cell = page.locator(f"#tir tr[data-range='{r.code}'] .pct")
        assert cell.inner_text() == f"{r.percent:.1f} %"
    assert page.locator("[data-fig='gmi']").get_attribute("data-value") == str(expected.gmi_percent)
    assert page.locator("[data-fig='cv']").get_attribute("data-value") == str(expected.cv_percent)
    assert page.locator("[data-fig='readings']").get_attribute("data-value") == str(len(cgm))
    table = page.evaluate(AGP_TABLE)
    filled = [b for b in expected.agp if b.p50 is not None]
    assert len(table) == len(filled) == 96
    for (minute, cells), b in zip(table, filled, strict=True):
        assert minute == b.minute
        want = [b.p05, b.p25, b.p50, b.p75, b.p95]
        assert [mmol for mmol, _ in cells] == want
        assert [float(text) for _, text in cells] == pytest.approx(want, abs=0.051)
    screenshot(page, "patient-glucose")
    bp_rows = page.locator("#bp-means tr[data-part]")
    assert bp_rows.count() == 3
    assert "mmHg" in page.locator("#bp-means tr[data-part='morning']").inner_text()


def test_ecg_strip_is_on_paper_scale_with_the_analysers_beats_and_af(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    adc, _ = seed(gateway, mosquitto, now)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    open_patient(page, gateway.url)
    page.wait_for_function("() => window.hmgEcg && window.hmgEcg.beatsX.length > 0")
    m: dict[str, Any] = page.evaluate(MEASURE_GRID)
    mm = m["mm"]
    assert mm == pytest.approx(96 / 25.4)
    assert (m["speed"], m["gain"]) == (25, 10)
    # 5 mm major lines, measured on the canvas: over the whole strip, 1 s = 5 boxes = 25 mm.
    xs = np.asarray(m["xs"], dtype=np.float64)
    assert xs.size > 50
    steps = np.diff(xs)
    assert np.all(np.abs(steps - 5 * mm) <= 1.0)
    per_second = (xs[-1] - xs[0]) / ((xs.size - 1) / 5)
    assert per_second == pytest.approx(25 * mm, abs=0.1)
    # The 1 mV calibration pulse is 10 mm high and 0.2 s (5 mm) wide.
    assert m["pulseBottom"] - m["pulseTop"] == pytest.approx(10 * mm, abs=1.5)
    assert m["fallX"] - m["riseX"] == pytest.approx(5 * mm, abs=1.5)

    ana = EcgAnalyzer(FS)
    mv = adc.astype(np.float64) / GAIN
    first, last = ana.feed(mv), ana.finish()
    beats = [*first.beats, *last.beats]
    geo = page.evaluate(
        "() => ({x0: hmgEcg.x0, pxPerS: hmgEcg.pxPerS, beatsX: hmgEcg.beatsX,"
        " episodes: hmgEcg.episodes})"
    )
    assert geo["pxPerS"] == pytest.approx(25 * mm)
    assert len(beats) > 50
    assert geo["beatsX"] == pytest.approx([geo["x0"] + b / FS * 25 * mm for b in beats], abs=1e-6)
    af = [e for e in geo["episodes"] if e["label"] == "AF"]
    assert af, "AF is shaded on the strip"
    af_samples = sum(
        (e.end or mv.size) - e.start for e in (*first.closed, *last.closed) if e.label.value == "AF"
    )
    assert sum(e["x1"] - e["x0"] for e in af) == pytest.approx(af_samples / FS * 25 * mm, rel=0.02)
    screenshot(page, "patient-ecg")


def test_one_cgm_reading_shows_not_enough_data_not_a_percentage(
    gateway: LiveGateway, mosquitto: Mosquitto, browser: Browser
) -> None:
    add_patient(
        gateway, "p-009", name="Sun Hua", birth_year=1944, sex="female", allergies="penicillin",
        address="Room 302, 8 Lane 5", access_notes="key safe 4711",
    )  # fmt: skip
    add_device(gateway, "cgm-009", "glucose", "p-009")
    now = datetime.now(UTC).replace(microsecond=0)
    one = v1_doc("cgm-009", "glucose", 1, {"value": 2.4, "unit": "mmol/L", "source": "cgm"}, now)
    publish_all(mosquitto, [(f"hm/v1/{TENANT}/cgm-009/glucose", json.dumps(one).encode())])
    wait_stored(gateway, "p-009", "glucose", format_ts(now - timedelta(minutes=1)), 1)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sign_in(page, gateway.url, CLINICIAN, PASSWORD)
    page.goto(f"{gateway.url}/#/patients/p-009")
    note = page.locator("#glu-nodata")
    note.wait_for(timeout=30000)
    assert "Not enough data" in note.inner_text()
    assert "1 CGM readings" in note.inner_text()
    assert page.locator("#tir").count() == 0  # no percentage anywhere
    assert page.locator("[data-fig='gmi']").count() == 0
    head = page.locator("#p-head").inner_text()
    assert "cgm-009" in head  # a clinician sees the devices
    assert "penicillin" in page.locator("#p-head [data-field='allergies']").inner_text()
    assert "key safe 4711" in page.locator("#p-head [data-field='address']").inner_text()
    screenshot(page, "patient-glucose-not-enough-data")
