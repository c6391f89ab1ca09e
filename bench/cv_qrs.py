"""`make cv-qrs`: the QRS detector's free choices, made by leave-one-record-out cross-validation.

    HMG_RECORDS=../shared/data .venv/bin/python -m bench.cv_qrs [--cache FILE]

Every setting of the grid below is scored on each of the 23 development MIT-BIH records
(`bench.qrs_eval`, EC57 150 ms). For each record in turn, the setting with the fewest errors
(missed plus false beats) over the other 22 records is chosen and scored on the held-out record;
the held-out totals are the honest estimate of the procedure. The setting chosen on all 23 is
the one to ship (`alerts.ecg.config.EcgConfig`). No record is tuned on alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from alerts.ecg import EcgConfig
from bench.qrs_eval import MITDB, ZERO, Score, detect_hmg, load, score
from bench.records import data_dir

GRID: dict[str, tuple[object, ...]] = {
    "split_frac": (None, 0.5, 0.7),
    "split_slope": (0.3, 0.4, 0.5),
    "searchback_floor": (0.3, 0.5),
    "ectopic_screen": (True, False),
}


def settings() -> list[dict[str, object]]:
    keys = list(GRID)
    out = []
    for values in itertools.product(*(GRID[k] for k in keys)):
        s: dict[str, object] = dict(zip(keys, values, strict=True))
        if s["split_frac"] is None and s["split_slope"] != GRID["split_slope"][0]:
            continue  # the slope only matters with the split search on
        out.append(s)
    return out


def _one(path: str) -> list[tuple[int, int, int]]:
    ref = load(path)
    rows = []
    for s in settings():
        sc = score(ref, detect_hmg(ref.signal, ref.fs, EcgConfig(**s)))  # type: ignore[arg-type]
        rows.append((sc.tp, sc.fn, sc.fp))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cache", type=Path, default=None, help="JSON file of per-record scores")
    args = p.parse_args()
    grid = settings()
    if args.cache is not None and args.cache.exists():
        table = json.loads(args.cache.read_text())
    else:
        paths = [str(data_dir() / "ecg" / "mitdb" / r) for r in MITDB]
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            table = list(pool.map(_one, paths))
        if args.cache is not None:
            args.cache.write_text(json.dumps(table))
    scores = [[Score(*c) for c in rec] for rec in table]

    def errors(k: int, recs: list[int]) -> int:
        return sum(scores[r][k].fn + scores[r][k].fp for r in recs)

    every = list(range(len(MITDB)))
    held = ZERO
    print(f"{'held out':<10}{'chosen setting':<72}{'Se %':>8}{'+P %':>8}")
    for r in every:
        rest = [i for i in every if i != r]
        k = min(range(len(grid)), key=lambda j: (errors(j, rest), j))
        held = held + scores[r][k]
        sc = scores[r][k]
        print(f"{MITDB[r]:<10}{json.dumps(grid[k]):<72}{sc.se:>8.2f}{sc.ppv:>8.2f}")
    print(f"held-out total: Se {held.se:.3f} %  +P {held.ppv:.3f} %  (FN {held.fn}, FP {held.fp})")
    k = min(range(len(grid)), key=lambda j: (errors(j, every), j))
    tot = sum((scores[r][k] for r in every), ZERO)
    print(f"chosen on all {len(MITDB)}: {json.dumps(grid[k])} (in-sample Se {tot.se:.3f} %, "
          f"+P {tot.ppv:.3f} %)")  # fmt: skip


if __name__ == "__main__":
    main()
