"""`python -m bench.afdb_episodes [RECORD ...]`: what the AF of the weakest AFDB records looks like.

One row per reference AF episode (`(AFIB` to the next rhythm note) of the given records (by
default those with a per-record Se below 80 % in `make eval-ecg`): its length, its beats (the
record's `.qrs` beats), the share of them the beats-only analyser labels AF with the shipped
settings, the mean RR interval, and the RR irregularity the rule sees: the share of normalised
successive differences (|RR[i+1] - RR[i]| / median RR) above `EcgConfig.af_threshold` and their
median. An episode of a few beats is too short for any window; one with a median difference
near the threshold is AF with a regular-looking ventricular response, which RR alone cannot
tell from sinus rhythm. The table goes to `TABLE`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import wfdb

from alerts.ecg import EcgConfig
from bench.afdb_eval import in_episodes
from bench.records import data_dir
from gateway.ecgtool import analyze_record

WEAKEST = ("05091", "06453", "04048")
TABLE = Path("build") / "eval" / "afdb_episodes.tsv"
HEAD = ("record", "start", "seconds", "beats", "labelled AF", "mean RR s", "share > thr",
        "median diff")  # fmt: skip


def episodes(name: str) -> list[tuple[object, ...]]:
    path = str(data_dir() / "ecg" / "afdb" / name)
    out = analyze_record(path, "qrs", 0)
    beats = np.asarray(out["beats"], dtype=np.int64)
    fs = float(out["fs"])
    pred = in_episodes(beats, out["episodes"], "AF")
    ann = wfdb.rdann(path, "atr")
    marks = [(int(s), n.strip("\x00")) for s, n in zip(ann.sample, ann.aux_note, strict=True)
             if n.startswith("(")]  # fmt: skip
    thr = EcgConfig().af_threshold
    rows: list[tuple[object, ...]] = []
    for i, (start, note) in enumerate(marks):
        if note != "(AFIB":
            continue
        end = marks[i + 1][0] if i + 1 < len(marks) else int(beats[-1]) + 1
        m = (beats >= start) & (beats < end)
        rr = np.diff(beats[m]) / fs
        d = np.abs(np.diff(rr)) / np.median(rr) if rr.size > 2 else np.zeros(1)
        rows.append((name, start, round((end - start) / fs, 1), int(m.sum()),
                     round(float(pred[m].mean()) if m.any() else 0.0, 2),
                     round(float(rr.mean()) if rr.size else 0.0, 2),
                     round(float(np.mean(d > thr)), 2), round(float(np.median(d)), 3)))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("records", nargs="*", default=list(WEAKEST))
    args = p.parse_args(argv)
    rows = [r for name in args.records for r in episodes(name)]
    print("".join(f"{h:>13}" for h in HEAD))
    for r in rows:
        print("".join(f"{v!s:>13}" for v in r))
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(
        "\t".join(HEAD) + "\n" + "".join("\t".join(str(v) for v in r) + "\n" for r in rows)
    )
    print(f"(table: {TABLE})")


if __name__ == "__main__":
    main()
