"""Where the evaluation records are, and small helpers shared by the evaluation scripts."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The shared data folder: `HMG_RECORDS`, by default `../shared/data` beside the checkout."""
    default = Path(__file__).resolve().parent.parent / ".." / "shared" / "data"
    return Path(os.environ.get("HMG_RECORDS", str(default))).resolve()


def pct(a: float, b: float) -> float:
    return 100.0 * a / b if b else float("nan")


WORKERS = 2  # the evaluation machine has 2 cores; never start more worker processes
