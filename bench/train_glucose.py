"""`make train-glucose`: fit the predicted-low model on the 140 Weinstock 2016 older adults.

The alarm threshold is chosen by 5-fold patient-grouped cross-validation (best F1 of recall and
precision with a median lead >= 10 min, bench/glucose_low.py), then the logistic regression is
fitted on every patient and written with the threshold, the data file's SHA-256 and the fold seed to
`alerts/detectors/glucose_low_model.json`. Deterministic: Newton steps from zero, folds from a
seeded permutation. Held-out figures of the whole procedure: `make eval-vitals`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alerts.detectors.glucose_low_model import MODEL_FILE
from bench.glucose_low import choose_threshold, file_sha256, fit_model, load_traces

ROOT = Path(__file__).resolve().parent.parent
VERSION = "2"
FOLDS = 5
SEED = 17


def records_dir() -> Path:
    data_dir = Path(os.environ.get("HMG_RECORDS", ROOT.parent / "shared" / "data"))
    return data_dir if data_dir.is_absolute() else ROOT / data_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args(argv)
    path = records_dir() / "glucose" / "weinstock2016_cgm.csv"
    traces = load_traces(path)
    th, inner = choose_threshold(traces, FOLDS, SEED, log=print)
    print(f"threshold {th:.2f} by {FOLDS}-fold patient CV: {inner.row()}")
    model = fit_model(traces, th, VERSION)
    extra = {
        "trained_on": f"glucose/{path.name}",
        "patients": len(traces),
        "data_sha256": file_sha256(path),
        "fold_seed": SEED,
        "folds": FOLDS,
        "threshold_rule": (
            "best F1 of recall and precision with median lead >= 10 min and no more false "
            "alarms per person-day than AR2, out-of-fold"
        ),
    }
    args.out.write_text(model.to_json(extra))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
