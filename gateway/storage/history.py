"""History views over stored readings, the same for every backend: aggregation windows for charts
and ECG strips for alert evidence. Pure functions over readings; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from devices.kinds import METRICS, Kind
from devices.model import Reading

# An ECG chunk may start this long before a strip window and still overlap it.
ECG_CHUNK_MARGIN = timedelta(seconds=60)


def metric_names(kind: Kind) -> tuple[str, ...]:
    """The numeric fields a kind carries (from the declarative metric table)."""
    return tuple(m.name for m in METRICS.values() if m.kind is kind)


@dataclass(frozen=True, slots=True)
class FieldStats:
    mean: float
    min: float
    max: float
    count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregation window `[start, start + every)` with stats per field present in it."""

    start: datetime
    fields: Mapping[str, FieldStats]


@dataclass(frozen=True, slots=True, eq=False)
class EcgStrip:
    """Contiguous ECG of one device for a time window, in millivolts.

    `gaps` lists (sample index, seconds missing) where consecutive chunks did not continue each
    other; the samples on both sides are joined without padding.
    """

    device_id: str
    lead: str
    fs: float
    start: datetime
    mv: npt.NDArray[np.float64]
    gaps: tuple[tuple[int, float], ...] = ()
    chunks: int = 0
    seqs: tuple[int, ...] = field(default=())

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.mv.size / self.fs)


def window_start(ts: datetime, origin: datetime, every: timedelta) -> datetime:
    return origin + every * ((ts - origin) // every)


def bucketize(
    readings: Iterable[Reading], start: datetime, every: timedelta, names: Sequence[str]
) -> list[Bucket]:
    """Aggregate readings into windows aligned on `start` (mean/min/max/count per field)."""
    if every <= timedelta(0):
        raise ValueError("aggregation window must be positive")
    acc: dict[datetime, dict[str, list[float]]] = {}
    for r in readings:
        slot = acc.setdefault(window_start(r.ts, start, every), {})
        for name in names:
            v = r.values.get(name)
            if v is not None:
                slot.setdefault(name, []).append(float(v))
    out = []
    for w in sorted(acc):
        stats = {}
        for name, vals in acc[w].items():
            a = np.asarray(vals)
            stats[name] = FieldStats(float(a.mean()), float(a.min()), float(a.max()), int(a.size))
        if stats:
            out.append(Bucket(w, stats))
    return out


def latest_per_kind(readings: Iterable[Reading]) -> dict[Kind, Reading]:
    out: dict[Kind, Reading] = {}
    for r in readings:
        cur = out.get(r.kind)
        if cur is None or (r.ts, r.seq) > (cur.ts, cur.seq):
            out[r.kind] = r
    return out


def cut_strip(
    chunks: Iterable[Reading], start: datetime, end: datetime, device_id: str | None = None
) -> EcgStrip | None:
    """Join the ECG chunks overlapping `[start, end)` into one strip (one device, one rate).

    Without `device_id` the device with the most samples in the window is chosen.
    """
    by_dev: dict[str, list[Reading]] = {}
    for r in chunks:
        if r.ecg is None or r.end_ts <= start or r.ts >= end:
            continue
        if device_id is None or r.device_id == device_id:
            by_dev.setdefault(r.device_id, []).append(r)
    if not by_dev:
        return None
    dev = max(by_dev, key=lambda d: sum(c.ecg.samples.size for c in by_dev[d] if c.ecg))
    picked = sorted(by_dev[dev], key=lambda c: (c.ts, c.seq))
    first = picked[0].ecg
    assert first is not None
    fs = first.fs
    parts: list[npt.NDArray[np.float64]] = []
    gaps: list[tuple[int, float]] = []
    seqs: list[int] = []
    n = 0
    strip_start: datetime | None = None
    expected: datetime | None = None
    period = 1.0 / fs
    for c in picked:
        e = c.ecg
        if e is None or e.fs != fs:
            continue
        i0 = max(0, int(np.ceil((start - c.ts).total_seconds() * fs - 1e-6)))
        i1 = min(e.samples.size, int(np.ceil((end - c.ts).total_seconds() * fs - 1e-6)))
        if i1 <= i0:
            continue
        t0 = c.ts + timedelta(seconds=i0 / fs)
        if expected is not None:
            missing = (t0 - expected).total_seconds()
            if missing < -period / 2:  # overlaps what we have: drop the overlap
                skip = round(-missing * fs)
                i0 += skip
                if i1 <= i0:
                    continue
                t0 = c.ts + timedelta(seconds=i0 / fs)
            elif missing > 1.5 * period:
                gaps.append((n, missing))
        if strip_start is None:
            strip_start = t0
        parts.append((e.samples[i0:i1].astype(np.float64) - e.baseline) / e.gain)
        n += i1 - i0
        seqs.append(c.seq)
        expected = c.ts + timedelta(seconds=i1 / fs)
    if strip_start is None:
        return None
    return EcgStrip(
        device_id=dev,
        lead=first.lead,
        fs=fs,
        start=strip_start,
        mv=np.concatenate(parts),
        gaps=tuple(gaps),
        chunks=len(seqs),
        seqs=tuple(seqs),
    )
