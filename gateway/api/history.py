"""History for charts and evidence: readings by kind and range (raw or aggregated), the latest
vitals per patient, and ECG strips. Served by whichever readings store is configured."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from devices.kinds import Kind
from devices.timeparse import format_ts
from gateway.api.deps import ReadsDep
from gateway.api.schemas import ReadingOut
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/history", tags=["history"])

MAX_BUCKETS = 10_000
MAX_STRIP = timedelta(minutes=10)
# The longest range one history query covers (raw ECG samples: `MAX_STRIP`).
MAX_RANGE = timedelta(days=366)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def parse_every(text: str) -> timedelta:
    """`300`, `300s`, `5m`, `1h`, `1d` -> a positive window."""
    m = _EVERY.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise HTTPException(422, f"bad aggregation window {text!r} (e.g. 300s, 5m, 1h, 1d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2) or "s"])


def history_range(
    now: Callable[[], datetime],
    start: datetime | None,
    end: datetime | None,
    default: timedelta,
    longest: timedelta = MAX_RANGE,
) -> tuple[datetime, datetime]:
    end = end or now() + timedelta(minutes=5)
    start = start or end - default
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "start and end need a UTC offset")
    if start >= end:
        raise HTTPException(422, "start must be before end")
    if end - start > longest:
        raise HTTPException(422, f"at most {longest.days or longest} per query: page through it")
    return start, end


class StatsOut(BaseModel):
    mean: float
    min: float
    max: float
    count: int


class BucketOut(BaseModel):
    start: str
    fields: dict[str, StatsOut]


class HistoryOut(BaseModel):
    patient_id: str
    kind: Kind | None  # None: every kind
    start: str
    end: str
    every_s: float | None = None
    readings: list[ReadingOut] | None = None
    buckets: list[BucketOut] | None = None


class LatestOut(BaseModel):
    patient_id: str
    latest: dict[str, ReadingOut]


@router.get("/{patient_id}/readings")
async def history(
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    kind: Kind | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    every: Annotated[str | None, Query(description="aggregation window: 300s, 5m, 1h, 1d")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    samples: Annotated[bool, Query(description="with raw ECG samples (ranges of 10 min)")] = False,
) -> HistoryOut:
    """The patient's readings measured in [start, end), of one kind or all (default: the last
    7 days; with raw ECG samples, at most ten minutes; else at most a year). With `every` (one
    kind), windows of mean/min/max/count per field instead (for ECG: heart rate from the derived
    beats, InfluxDB only)."""
    longest = MAX_STRIP if samples else MAX_RANGE
    start, end = history_range(reads.now, start, end, min(timedelta(days=7), longest), longest)
    key = (await reads.patient(actor, patient_id)).key
    out = HistoryOut(patient_id=patient_id, kind=kind, start=format_ts(start), end=format_ts(end))
    if every is None:
        rows = await reads.readings.query(key, kind, start, end, limit)
        out.readings = [ReadingOut.of(r, with_samples=samples) for r in rows]
        return out
    if kind is None:
        raise HTTPException(422, "aggregation (`every`) needs a `kind`")
    window = parse_every(every)
    if (end - start) / window > MAX_BUCKETS:
        raise HTTPException(422, f"more than {MAX_BUCKETS} windows: choose a larger `every`")
    buckets = await reads.readings.aggregate(key, kind, start, end, window)
    out.every_s = window.total_seconds()
    out.buckets = [
        BucketOut(
            start=format_ts(b.start),
            fields={
                k: StatsOut(mean=v.mean, min=v.min, max=v.max, count=v.count)
                for k, v in b.fields.items()
            },
        )
        for b in buckets
    ]
    return out


@router.get("/{patient_id}/latest")
async def latest(
    reads: ReadsDep, actor: CurrentActor, patient_id: str, since: datetime | None = None
) -> LatestOut:
    """The most recent reading of each vital kind (BP, glucose, HR, SpO2, weight, status)."""
    key = (await reads.patient(actor, patient_id)).key
    found = await reads.readings.latest(key, since=since)
    return LatestOut(
        patient_id=patient_id, latest={k.value: ReadingOut.of(r) for k, r in found.items()}
    )
