"""`make bench-burden`: alerts per patient-day on the simulator's 30-day cohort.

The cohort: `--patients` elders (default 21) cycling through every simulator profile (healthy,
hypertensive, type 2 diabetes on insulin, type 1 diabetes on CGM, paroxysmal AF, sick sinus, heart
failure), each with a cuff twice a day, a CGM every 5 min and a wristband heart rate every 15 min,
for `--days` (30) days of the simulator's own physiology, scenario events off. The readings go
through `hmg replay`'s path (decode -> detectors -> alert book). Printed per patient-day:
- *alerts*: distinct alerts (alert ids) opened — what a clinician sees appear on the desk;
- *notifications*: events that notify (an alert opened, worsened or re-opened);
- and per code, the alerts whose code was ever that code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from gateway.replay import make_pipeline, register_devices, replay_events
from simulator.profiles import PROFILES
from simulator.render import render
from simulator.scenario import parse


def cohort(patients: int, days: int) -> dict[str, Any]:
    names = list(PROFILES)
    return {
        "start": "2026-11-02T00:00:00Z",
        "duration": f"{days * 24}:00",
        "intended": [],
        "patients": [
            {
                "id": f"c-{i:03d}",
                "profile": names[i % len(names)],
                "devices": [
                    {"id": f"cuff-c{i:03d}", "kind": "bp", "every": "12:00"},
                    {"id": f"cgm-c{i:03d}", "kind": "cgm", "every": "00:05"},
                    {"id": f"hr-c{i:03d}", "kind": "hr", "every": "00:15"},
                ],
            }
            for i in range(patients)
        ],
    }


def burden(patients: int, days: int, seed: int) -> dict[str, Any]:
    rendered = render(parse(cohort(patients, days), "burden_cohort"), seed)
    proc = make_pipeline()
    register_devices(proc, rendered.truth_records())
    lines = (json.dumps(line) for line in rendered.jsonl())
    alerts: dict[str, set[str]] = {}
    notifications = 0
    for e in replay_events(lines, proc):
        if e.alert.technical:
            continue
        alerts.setdefault(e.alert.alert_id, set()).add(e.alert.code)
        worse = e.event.value == "updated" and e.worse
        notifications += e.event.value == "opened" or worse
    pdays = patients * days
    by_code: Counter[str] = Counter(code for codes in alerts.values() for code in codes)
    return {
        "patient_days": pdays,
        "alerts_per_patient_day": len(alerts) / pdays,
        "notifications_per_patient_day": notifications / pdays,
        "alerts": len(alerts),
        "notifications": notifications,
        "by_code": dict(sorted(by_code.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--patients", type=int, default=21)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    r = burden(args.patients, args.days, args.seed)
    print(
        f"simulator cohort, {args.patients} patients x {args.days} days (seed {args.seed}): "
        f"{r['alerts_per_patient_day']:.3f} alerts per patient-day ({r['alerts']}), "
        f"{r['notifications_per_patient_day']:.3f} notifying events per patient-day "
        f"({r['notifications']})"
    )
    print("alerts by code:", ", ".join(f"{k} {v}" for k, v in r["by_code"].items()) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
