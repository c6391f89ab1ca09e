"""`make eval-ecg`: accuracy of the streaming ECG analyser on the public records in HMG_RECORDS,
side by side with anchors run by the same command on the same records and scoring.

Sections (each its own module; `SECTIONS` lists them in print order):
- QRS detection (`bench.qrs_eval`): EC57 150 ms matching on the 23 development MIT-BIH records
  and the noise stress test records, ours beside NeuroKit2 and WFDB XQRS;
- AF per beat on the 12 AFDB records from their `.qrs` beats (`bench.afdb_eval`), ours beside
  the Petrėnas rule;
- CinC 2017 AF with the signal (`bench.cinc_eval`): the shipped model's calls and the held-out
  (cross-validated, odd/even) F1;
- false rhythm alarms per hour on NSR2DB nsr001 (`eval_nsr` below).
All work runs in one pool of `WORKERS` processes (one task per record, no process per record).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

from alerts.ecg import EcgConfig
from bench.afdb_eval import eval_afdb
from bench.cinc_eval import eval_cinc
from bench.qrs_eval import eval_qrs
from bench.records import WORKERS, data_dir, pct
from gateway.ecgtool import analyze_record


def eval_nsr(root: Path, pool: Executor) -> None:
    cfg = EcgConfig()
    path = str(root / "ecg" / "nsr2db" / "nsr001")
    out = pool.submit(analyze_record, path, "ecg", 0).result()
    fs = out["fs"]
    hours = (out["beats"][-1] - out["beats"][0]) / fs / 3600.0
    alarms: dict[str, int] = {}
    gaps: list[tuple[int, int]] = []
    for e in sorted(out["episodes"], key=lambda e: e["start"]):
        lab = e["label"]
        if lab == "noise" or (lab == "AF" and (e["end"] - e["start"]) / fs < cfg.af_alarm_s):
            continue
        if lab in ("pause", "asystole"):
            if gaps and e["start"] < gaps[-1][1]:
                continue
            gaps.append((e["start"], e["end"]))
        alarms[lab] = alarms.get(lab, 0) + 1
    total = sum(alarms.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(alarms.items())) or "none"
    print(f"NSR2DB nsr001 ({hours:.1f} h, beats only): {total} rhythm alarms = "
          f"{total / hours:.3f} per hour ({detail})\n")  # fmt: skip


__all__ = ["SECTIONS", "data_dir", "main", "pct"]  # data_dir, pct: used by other evaluations

SECTIONS: tuple[Callable[[Path, Executor], None], ...] = (eval_qrs, eval_afdb, eval_cinc, eval_nsr)


def main() -> None:
    root = data_dir()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as pool:
        for section in SECTIONS:
            t = time.perf_counter()
            section(root, pool)
            print(f"({section.__name__}: {time.perf_counter() - t:.0f} s)\n", flush=True)
    print(f"(evaluation took {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
