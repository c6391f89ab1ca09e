"""The development MIT-BIH records for the ventricular evaluation: each run through the streaming
analyser once, its classified beats' features and labels matched to the reference (EC57, 150 ms),
cached under `CACHE` by the analyser's source and model files."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import wfdb
from wfdb.processing import compare_annotations

import alerts.ecg
from alerts.ecg import EcgAnalyzer
from alerts.ecg.ventricular import FEATURES

MITDB = (
    "100", "101", "105", "106", "108", "109", "112", "114", "115", "116", "118", "119",
    "122", "124", "201", "203", "205", "207", "209", "215", "220", "223", "230",
)  # fmt: skip
NSTDB = ("118e24", "118e12", "118e06", "118e00", "118e_6")
BEAT = frozenset("NLRBAaJSVrFejnE/fQ?")
VEB = frozenset("VE")
UNSCORED = frozenset("F/fQ?")
CACHE = Path("build") / "cache" / "ventricular"

F64 = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    fs: float
    hours: float
    beats: np.ndarray[Any, Any]  # classified beats, in order
    stream: list[str]  # labels given by the streaming analyser (shipped model)
    alike: list[bool]  # each beat alike the one before (`BeatClassifier.alike`)
    traced: np.ndarray[Any, Any]  # index into `beats` of each feature row
    soft: list[bool]  # beat in a doubtful stretch (see `BeatClassifier.add`)
    noisy: list[bool]  # beat in a stretch the quality checks do not vouch for
    features: F64
    ref: list[str]  # reference symbol matched to each beat ("" if none)
    veb_missed: int  # reference VEB with no detected beat
    runs: list[tuple[int, int]]  # reference VT runs (first, last reference beat)
    veb_runs: list[tuple[int, int]]  # any run of three or more consecutive VEB
    flutter: list[tuple[int, int]]  # reference ventricular flutter stretches


def _source_key() -> str:
    h = hashlib.sha256()
    here = Path(alerts.ecg.__file__).parent
    for p in [*sorted(here.glob("*.py")), *sorted(here.glob("*.json")), Path(__file__)]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _runs(samples: list[int], symbols: list[str], fs: float, max_rr: float | None) -> list[Any]:
    out, start, n, last = [], 0, 0, -(10**12)
    for s, y in zip(samples, symbols, strict=True):
        if y in VEB and n and (max_rr is None or s - last < max_rr * fs):
            n += 1
        else:
            if n >= 3:
                out.append((start, last))
            n, start = (1, s) if y in VEB else (0, s)
        last = s
    if n >= 3:
        out.append((start, last))
    return out


def _flutter(ann: Any, end: int) -> list[tuple[int, int]]:
    """Stretches from a `(VFL` rhythm note to the next rhythm note (or the record's end)."""
    marks = [(int(s), a.strip("\x00")) for s, a in zip(ann.sample, ann.aux_note, strict=True)
             if a.startswith("(")]  # fmt: skip
    out = []
    for i, (s, a) in enumerate(marks):
        if a == "(VFL":
            out.append((s, marks[i + 1][0] if i + 1 < len(marks) else end))
    return out


def extract(path: str) -> Record:
    cache = CACHE / _source_key()
    name = Path(path).name
    hit = cache / f"{name}.pkl"
    if hit.exists():
        return Record(*pickle.loads(hit.read_bytes()))
    r = wfdb.rdrecord(path, channels=[0])
    fs = float(r.fs)
    x = np.nan_to_num(np.asarray(r.p_signal[:, 0], dtype=np.float64))
    ana = EcgAnalyzer(fs)
    clf = ana.classifier
    assert clf is not None
    trace: list[tuple[int, tuple[float, ...], bool, bool]] = []
    clf.trace = trace
    beats: list[int] = []
    labels: list[str] = []
    alike: list[bool] = []
    step = round(fs)
    for i in range(0, x.size, step):
        u = ana.feed(x[i : i + step])
        beats += u.classified
        labels += u.labels
        alike += clf.alike if u.classified else []
    u = ana.finish()
    beats += u.classified
    labels += u.labels
    alike += clf.alike if u.classified else []
    b = np.asarray(beats, dtype=np.int64)
    where = {v: i for i, v in enumerate(beats)}
    traced = np.asarray([where[t[0]] for t in trace], dtype=np.int64)
    feats = np.asarray([t[1] for t in trace], dtype=np.float64).reshape(-1, len(FEATURES))
    soft = [False] * b.size
    noisy = [True] * b.size
    for i, t in zip(traced.tolist(), trace, strict=True):
        soft[i] = t[2]
        noisy[i] = t[3]
    ann = wfdb.rdann(path, "atr")
    pairs = [(int(s), y) for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT]
    ref_s = np.asarray([s for s, _ in pairs], dtype=np.int64)
    ref_y = [y for _, y in pairs]
    cmp = compare_annotations(ref_s, b, round(0.15 * fs))
    matched = np.asarray(cmp.matching_sample_nums)
    ref = [""] * b.size
    missed = 0
    for i, j in enumerate(matched.tolist()):
        if j >= 0:
            ref[j] = ref_y[i]
        elif ref_y[i] in VEB:
            missed += 1
    rec = Record(
        name, fs, x.size / fs / 3600.0, b, labels, alike, traced, soft, noisy, feats, ref, missed,
        _runs(ref_s.tolist(), ref_y, fs, 0.6), _runs(ref_s.tolist(), ref_y, fs, None),
        _flutter(ann, x.size),
    )  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    hit.write_bytes(pickle.dumps(tuple(getattr(rec, f) for f in Record.__slots__)))
    return rec
