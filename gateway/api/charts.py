"""What the dashboard's patient charts need beyond raw history: the patient's effective alert
limits (for target and crisis lines) and ECG strips with the analyser's beats and episodes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from alerts.ecg.analyzer import EcgAnalyzer
from alerts.ecg.episodes import Episode
from alerts.targets import DEFAULT_TARGETS, TargetError
from devices.kinds import Kind
from devices.timeparse import format_ts
from gateway.api.deps import ReadsDep
from gateway.api.history import MAX_STRIP, history_range
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/patients", tags=["charts"])

MAX_CHUNK_LIST = timedelta(days=2)


class LimitsOut(BaseModel):
    patient_id: str
    limits: dict[str, float]


class ChunkOut(BaseModel):
    device_id: str
    seq: int
    start: str
    seconds: float
    fs: float


class EpisodeOut(BaseModel):
    label: str
    start: int
    end: int
    mean_hr: float | None
    detail: str


class EcgViewOut(BaseModel):
    patient_id: str
    device_id: str
    lead: str
    fs: float
    start: str
    end: str
    unit: str = "mV"
    samples: list[float]
    gaps: list[tuple[int, float]]
    beats: list[int]
    episodes: list[EpisodeOut]
    heart_rate: float | None


@router.get("/{patient_id}/limits")
async def limits(reads: ReadsDep, actor: CurrentActor, patient_id: str) -> LimitsOut:
    """The alert limits in force for this patient (defaults with the care team's overrides)."""
    p = await reads.patient(actor, patient_id)
    try:
        t = DEFAULT_TARGETS.with_overrides(p.targets)
    except TargetError:
        t = DEFAULT_TARGETS
    return LimitsOut(patient_id=patient_id, limits={k: float(v) for k, v in asdict(t).items()})


@router.get("/{patient_id}/ecg/chunks")
async def ecg_chunks(
    reads: ReadsDep, actor: CurrentActor, patient_id: str, start: datetime, end: datetime
) -> list[ChunkOut]:
    """The stored ECG chunks measured in [start, end) (at most two days): the viewer's map."""
    start, end = history_range(reads.now, start, end, MAX_CHUNK_LIST, MAX_CHUNK_LIST)
    key = (await reads.patient(actor, patient_id)).key
    rows = await reads.readings.query(key, Kind.ECG, start, end, 100_000)
    return [
        ChunkOut(
            device_id=r.device_id,
            seq=r.seq,
            start=format_ts(r.ts),
            seconds=r.ecg.samples.size / r.ecg.fs,
            fs=r.ecg.fs,
        )
        for r in rows
        if r.ecg is not None
    ]


@dataclass(frozen=True, slots=True)
class StripAnalysis:
    """What the streaming analyser finds in one strip: beats (sample indices), the episodes
    (closed or still open at its end) and the median heart rate (None without two beats)."""

    beats: list[int]
    episodes: list[Episode]
    rate: float | None

    @classmethod
    def of(cls, mv: npt.NDArray[np.float64], fs: float) -> StripAnalysis:
        ana = EcgAnalyzer(fs)
        first, last = ana.feed(mv), ana.finish()
        beats = [*first.beats, *last.beats]
        found = {(e.label, e.start): e for e in (*first.closed, *last.closed)}
        for e in (*first.opened, *last.opened):
            found.setdefault((e.label, e.start), e)
        rr = np.diff(np.asarray(beats, dtype=np.float64)) / fs
        rate = float(60.0 / np.median(rr)) if rr.size else None
        return cls(beats, list(found.values()), rate)


def _episode(ep: Episode, last: int) -> EpisodeOut:
    end = ep.end if ep.end is not None else last
    return EpisodeOut(
        label=ep.label.value, start=ep.start, end=end, mean_hr=ep.mean_hr, detail=ep.detail
    )


@router.get("/{patient_id}/ecg/strip")
async def ecg_view(
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    start: datetime,
    end: datetime,
    device_id: str | None = None,
) -> EcgViewOut:
    """ECG of [start, end) (at most 10 minutes) in millivolts with the streaming analyser's
    beats and episodes (AF, pause, noise, ...) as sample indices of the strip."""
    start, end = history_range(reads.now, start, end, MAX_STRIP, MAX_STRIP)
    key = (await reads.patient(actor, patient_id)).key
    strip = await reads.readings.ecg_strip(key, start, end, device_id)
    if strip is None:
        raise HTTPException(404, "no ECG in that window")
    found = StripAnalysis.of(strip.mv, strip.fs)
    n, rate = int(strip.mv.size), found.rate
    return EcgViewOut(
        patient_id=patient_id,
        device_id=strip.device_id,
        lead=strip.lead,
        fs=strip.fs,
        start=format_ts(strip.start),
        end=format_ts(strip.end),
        samples=[round(float(v), 4) for v in strip.mv],
        gaps=list(strip.gaps),
        beats=found.beats,
        episodes=sorted((_episode(e, n) for e in found.episodes), key=lambda e: e.start),
        heart_rate=round(rate, 1) if rate else None,
    )
