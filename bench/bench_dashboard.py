"""Dashboard rendering in Debian's Chromium (headless, Playwright), timed by the page itself
with the Performance API: the triage queue with 500 open alerts, and a 60 s 250 Hz ECG strip.

    make bench-dashboard      (BENCH_DASHBOARD_RUNS=N, default 7; best and median of N)

The gateway runs in this process on SQLite; the alerts and the ECG are written to its stores
directly, then the page fetches them through the API like any client.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np

from alerts.model import Alert, AlertEvent, EventType, Priority, State
from devices.kinds import Kind
from devices.model import EcgChunk, Reading, utcnow
from gateway.actor import Role
from gateway.runtime.settings import Settings
from gateway.storage import AlertRecord
from gateway.storage.patients import Patient
from tests.alerts.ecg.ecg_synth import synth_ecg
from tests.support.browser import LiveGateway, chromium, live_gateway, sign_in

TENANT = "t-bench"
USER, PASSWORD = "dr.bench", "bench password 1"
ALERTS = 500
PATIENTS = 200
FS = 250.0
CODES = (
    ("bp.hypertensive_crisis", Priority.HIGH, {"reading": {"systolic": 204, "diastolic": 126}}),
    ("glucose.low", Priority.MEDIUM, {"reading": {"glucose": 3.4}}),
    ("ecg.af", Priority.MEDIUM, {"heart_rate": 118.0}),
    ("cv.crisis_arrhythmia", Priority.HIGH, {"crisis": {"systolic": 190, "diastolic": 110}}),
    ("device.battery_low", Priority.LOW, {"battery": 0.08}),
)


def seed(gw: LiveGateway) -> None:
    g = gw.app.state.gateway
    now = utcnow()
    for i in range(PATIENTS):
        p = Patient(f"p-{i:03d}", TENANT, now, name=f"Patient {i:03d}", birth_year=1930 + i % 20,
                    lives_alone=i % 3 == 0, disability=i % 7 == 0)  # fmt: skip
        gw.run(g.stores.patients.save_patient(p))
    events = []
    for i in range(ALERTS):
        code, prio, evidence = CODES[i % len(CODES)]
        at = now - timedelta(minutes=i)
        a = Alert(
            alert_id=f"bench-{i:04d}", tenant=TENANT, patient_id=f"p-{i % PATIENTS:03d}",
            code=code, group=f"{code}:{i}", priority=prio,
            state=State.OPEN if i % 4 else State.ACKNOWLEDGED, opened_at=at, updated_at=at,
            source_ts=at, message={"en": f"{code} alert", "zh-CN": f"{code} 告警"},
            evidence=evidence,
        )  # fmt: skip
        events.append(AlertEvent(EventType.OPENED, at, a))
    gw.run(g.stores.records.commit(AlertRecord(at=now, events=events)))
    rr = list(np.random.default_rng(1).uniform(0.45, 1.0, 90))
    adc = np.round(synth_ecg(FS, rr, atrial="f", seed=1)[: int(60 * FS)] * 200).astype(np.int32)
    start = now - timedelta(minutes=2)
    chunk = int(2 * FS)
    readings = [
        Reading(
            tenant=TENANT,
            device_id="patch-bench",
            kind=Kind.ECG,
            seq=k + 1,
            ts=start + timedelta(seconds=i / FS),
            received_at=now,
            patient_id="p-000",
            ecg=EcgChunk(FS, "II", 200.0, 0, adc[i : i + chunk]),
        )
        for k, i in enumerate(range(0, adc.size, chunk))
    ]
    gw.run(g.readings.write(readings))
    gw.add_user(USER, Role.CLINICIAN, TENANT, PASSWORD)


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: best {min(values):.1f} ms, median {statistics.median(values):.1f} ms "
        f"(n={len(values)})"
    )


def main() -> int:
    runs = int(os.environ.get("BENCH_DASHBOARD_RUNS", "7"))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(mode="test", data_dir=Path(tmp) / "gw")
        with live_gateway(settings, mqtt=False) as gw, chromium() as browser:
            seed(gw)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            sign_in(page, gw.url, USER, PASSWORD)
            queue: list[float] = []
            for _ in range(runs):
                page.goto(f"{gw.url}/#/queue")
                page.reload()
                page.wait_for_selector(f"#view[data-rendered='{ALERTS}']")
                queue.append(page.evaluate(
                    "() => Math.max(...performance.getEntriesByName('hmg-queue-render')"
                    ".map((e) => e.duration))"
                ))  # fmt: skip
            rows = page.locator("article.qrow").count()
            page.goto(f"{gw.url}/#/patients/p-000")
            page.wait_for_function("() => window.hmgEcg && window.hmgEcg.beatsX.length > 0")
            for _ in range(runs):
                page.click("button[data-speed='12.5']")
                page.click("button[data-speed='25']")
            ecg = [
                e["duration"]
                for e in page.evaluate(
                    "() => performance.getEntriesByName('hmg-ecg-draw').map((e) => e.toJSON())"
                )
            ]
            at_25 = ecg[0::2][: runs + 1]  # the first draw and every redraw at 25 mm/s
            samples = page.evaluate("() => window.hmgEcg.beatsX.length")
    print(f"queue: {ALERTS} open alerts in {rows} rows")
    print(summary("queue render (500 alerts)", queue))
    print(f"ECG: 60 s at {FS:.0f} Hz, 25 mm/s, {samples} beats marked")
    print(summary("ECG strip draw (60 s, 250 Hz)", at_25))
    print("Chromium headless on a shared machine: figures are noisy; best of n is the fairest.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
