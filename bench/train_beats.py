"""`make train-beats`: fit the ventricular-beat model on the development MIT-BIH records and
write `alerts/ecg/veb_model.json` with the training data's hash and the leave-one-record-out
figures of the same procedure (`bench.eval_ventricular`).

Deterministic: the same records give the same file.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from alerts.ecg.vebmodel import model_to_json
from bench import beatfit
from bench.eval_ventricular import cross_validate, fit, labels_with, load, score
from bench.records import data_dir, pct
from bench.ventricular_records import MITDB

OUT = Path("alerts") / "ecg" / "veb_model.json"


def data_hash(names: tuple[str, ...]) -> str:
    """SHA-256 over every development record's header, signal and reference annotation file."""
    base = data_dir() / "ecg" / "mitdb"
    h = hashlib.sha256()
    for n in names:
        for ext in (".hea", ".dat", ".atr"):
            h.update((base / (n + ext)).read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    recs, _ = load()
    folds = cross_validate(recs)
    tp = fn = fp = 0
    for r in recs:
        a, b, c = score(r, labels_with(r, folds[r.name]))
        tp, fn, fp = tp + a, fn + b, fp + c
    se, ppv = pct(tp, tp + fn), pct(tp, tp + fp)
    print(f"leave-one-record-out VEB Se {se:.1f} %, +P {ppv:.1f} % (TP {tp}, FN {fn}, FP {fp})")
    model = fit(recs)
    training = {
        "data": "MIT-BIH Arrhythmia Database (PhysioNet, ODC-By 1.0), first channel, records "
        + " ".join(MITDB),
        "sha256": data_hash(MITDB),
        "labels": "reference beats matched within 150 ms; VEB = V, E; F / f Q ? not used",
        "procedure": {
            "l2": beatfit.L2,
            "trees": beatfit.ROUNDS,
            "depth": beatfit.DEPTH,
            "rate": beatfit.RATE,
            "bins": beatfit.BINS,
            "min_hess": beatfit.MIN_HESS,
            "mix": beatfit.MIX,
        },
        "leave_one_record_out": {"se": round(se, 2), "ppv": round(ppv, 2)},
    }
    args.out.write_text(model_to_json(model, training))
    print(f"wrote {args.out} (threshold {model.threshold})")


if __name__ == "__main__":
    main()
