"""`python -m bench.afdb_cv`: the short-paroxysm rule of the beats-only AF path
(`EcgConfig.af_short_beats`, `af_short_share`, `af_short_threshold`) chosen by
leave-one-record-out cross-validation on the 12 AFDB records, and its held-out figures.

In each fold the setting (off, or one of `GRID`) is chosen on the 11 other records: the highest
lowest per-record Se (records where both rhythms occur) among the settings whose pooled Se and
Sp on those records stay at or above `POOLED` (the targets the shipped window already meets);
on a tie, the higher pooled Sp. The left-out record is then scored with that setting. The
per-record table (held-out Se and Sp beside those with the rule off) goes to `TABLE`.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from alerts.ecg import EcgConfig
from bench.afdb_eval import AFDB, Counts, af_counts
from bench.records import WORKERS, data_dir, pct

Setting = tuple[int, float, float] | None  # (short beats, share, short threshold), None: off
GRID: tuple[Setting, ...] = (
    None,
    *((w, q, t) for w in (9, 17, 25) for q in (0.15, 0.3) for t in (0.12, 0.16, 0.2)),
)
POOLED = (97.0, 98.0)  # pooled Se, Sp (%) a setting must keep on the training records
TABLE = Path("build") / "eval" / "afdb_cv.tsv"


def run(args: tuple[str, Setting]) -> Counts:
    path, s = args
    cfg = (
        EcgConfig(af_short_beats=None)
        if s is None
        else EcgConfig(af_short_beats=s[0], af_short_share=s[1], af_short_threshold=s[2])
    )
    return af_counts(path, cfg)


def _both(c: Counts) -> bool:
    return bool(c[0] + c[1] and c[2] + c[3])


def choose(res: dict[Setting, list[Counts]], leave: int) -> Setting:
    """The setting chosen on every record but the one at index `leave` (see the docstring)."""
    best: tuple[float, float] = (-1.0, -1.0)
    pick: Setting = None
    for s, per in res.items():
        train = [c for i, c in enumerate(per) if i != leave]
        tp, fn, tn, fp = (sum(c[k] for c in train) for k in range(4))
        se, sp = pct(tp, tp + fn), pct(tn, tn + fp)
        if se < POOLED[0] or sp < POOLED[1]:
            continue
        low = min(pct(c[0], c[0] + c[1]) for c in train if _both(c))
        if (low, sp) > best:
            best, pick = (low, sp), s
    return pick


def main() -> None:
    root = data_dir() / "ecg" / "afdb"
    jobs = [(str(root / r), s) for s in GRID for r in AFDB]
    with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as pool:
        flat = list(pool.map(run, jobs))
    n = len(AFDB)
    res = {s: flat[k * n : (k + 1) * n] for k, s in enumerate(GRID)}
    head = ("record", "AF", "non-AF", "setting", "held-out Se", "Sp", "Se 30s", "off Se", "Sp")
    print("AF per beat, AFDB beats only, short-paroxysm rule chosen leave-one-record-out")
    print(f"{head[0]:<8}{head[1]:>8}{head[2]:>8}  {head[3]:<18}" + "".join(
        f"{h:>12}" for h in head[4:]))  # fmt: skip
    lines = ["\t".join(head)]
    held: list[Counts] = []
    low = [100.0, 100.0]  # lowest held-out Se, and with the rule off, where both rhythms occur
    for i, rec in enumerate(AFDB):
        s = choose(res, i)
        c, base = res[s][i], res[None][i]
        held.append(c)
        row = (pct(c[0], c[0] + c[1]), pct(c[2], c[2] + c[3]), pct(c[4], c[4] + c[5]),
               pct(base[0], base[0] + base[1]), pct(base[2], base[2] + base[3]))  # fmt: skip
        if _both(c):
            low = [min(low[0], row[0]), min(low[1], row[3])]
        name = "off" if s is None else f"{s[0]}/{s[1]}/{s[2]}"
        print(f"{rec:<8}{c[0] + c[1]:>8}{c[2] + c[3]:>8}  {name:<18}" + "".join(
            f"{v:>12.2f}" for v in row))  # fmt: skip
        lines.append("\t".join([rec, str(c[0] + c[1]), str(c[2] + c[3]), name,
                                *(f"{v:.2f}" for v in row)]))  # fmt: skip
    tp, fn, tn, fp = (sum(c[k] for c in held) for k in range(4))
    b = [sum(c[k] for c in res[None]) for k in range(4)]
    print(f"pooled held-out Se {pct(tp, tp + fn):.2f} %, Sp {pct(tn, tn + fp):.2f} % (rule off "
          f"{pct(b[0], b[0] + b[1]):.2f} / {pct(b[2], b[2] + b[3]):.2f}); lowest per-record Se "
          f"where both rhythms occur {low[0]:.2f} % (off {low[1]:.2f})")  # fmt: skip
    print(f"chosen on all 12 records (the EcgConfig default): {choose(res, -1)}")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n")
    print(f"(table: {TABLE})")


if __name__ == "__main__":
    main()
