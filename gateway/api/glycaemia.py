"""A patient's glycaemic summary (time in ranges, GMI, CV, AGP) over the CGM readings of a period,
computed by `alerts.glycaemia`: the dashboard draws exactly these figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from alerts.glycaemia import (
    CONSENSUS_TARGETS,
    CV_STABLE_MAX,
    MIN_ACTIVE_PERCENT,
    MIN_DAYS,
    GlycaemiaSummary,
    summarise,
)
from devices.kinds import Kind
from devices.timeparse import format_ts
from gateway.api.deps import ReadsDep
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/patients", tags=["glycaemia"])

MAX_DAYS = 90
MAX_CGM_READINGS = 90 * 288 + 1000  # 90 days of 5-minute readings, with room for duplicates


class RangeOut(BaseModel):
    code: str
    readings: int
    percent: float
    minutes_per_day: float
    target: str


class AgpBinOut(BaseModel):
    minute: int
    count: int
    p05: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


class GlycaemiaOut(BaseModel):
    patient_id: str
    start: str
    end: str
    tz: str
    readings: int
    sensor_active_percent: float
    sufficient: bool = Field(
        description="the consensus minimum is met (14 days, sensor active ≥ 70 %); when it is "
        "not, every derived figure is withheld (null, empty lists)"
    )
    minimum_days: int = MIN_DAYS
    minimum_active_percent: float = MIN_ACTIVE_PERCENT
    mean_mmol: float | None
    sd_mmol: float | None
    cv_percent: float | None
    cv_stable_max: float
    gmi_percent: float | None
    gmi_mmol_mol: float | None
    ranges: list[RangeOut]
    agp: list[AgpBinOut]

    @classmethod
    def of(cls, patient_id: str, s: GlycaemiaSummary) -> GlycaemiaOut:
        head = cls(
            patient_id=patient_id,
            start=format_ts(s.start),
            end=format_ts(s.end),
            tz=s.tz,
            readings=s.readings,
            sensor_active_percent=s.sensor_active_percent,
            sufficient=s.sufficient,
            mean_mmol=None,
            sd_mmol=None,
            cv_percent=None,
            cv_stable_max=CV_STABLE_MAX,
            gmi_percent=None,
            gmi_mmol_mol=None,
            ranges=[],
            agp=[],
        )
        if not s.sufficient:  # figures on too little data would be read as facts
            return head
        return cls(
            **head.model_dump(
                exclude={
                    "mean_mmol",
                    "sd_mmol",
                    "cv_percent",
                    "gmi_percent",
                    "gmi_mmol_mol",
                    "ranges",
                    "agp",
                    "cv_stable_max",
                }
            ),
            mean_mmol=s.mean_mmol,
            sd_mmol=s.sd_mmol,
            cv_percent=s.cv_percent,
            cv_stable_max=CV_STABLE_MAX,
            gmi_percent=s.gmi_percent,
            gmi_mmol_mol=s.gmi_mmol_mol,
            ranges=[
                RangeOut(
                    code=r.code,
                    readings=r.readings,
                    percent=r.percent,
                    minutes_per_day=r.minutes_per_day,
                    target="".join(str(x) for x in CONSENSUS_TARGETS[r.code]),
                )
                for r in s.ranges
            ],
            agp=[AgpBinOut(**{f: getattr(b, f) for f in AgpBinOut.model_fields}) for b in s.agp],
        )


@router.get("/{patient_id}/glycaemia")
async def glycaemia(
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 14,
    end: datetime | None = None,
    tz: Annotated[str, Query(max_length=64)] = "UTC",
) -> GlycaemiaOut:
    """Time in ranges, mean, GMI, CV and the AGP over the CGM readings of the `days` before `end`
    (default: now); the AGP's time of day is read in `tz` (an IANA zone, e.g. Asia/Shanghai)."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(422, "unknown time zone") from exc
    if end is not None and end.tzinfo is None:
        raise HTTPException(422, "end needs a UTC offset")
    key = (await reads.patient(actor, patient_id)).key
    end = end or reads.now()
    start = end - timedelta(days=days)
    rows = await reads.readings.query(key, Kind.GLUCOSE, start, end, MAX_CGM_READINGS)
    cgm = [r for r in rows if r.attrs.get("source") == "cgm" and "glucose" in r.values]
    summary = summarise(
        [r.ts for r in cgm], [r.values["glucose"] for r in cgm], start=start, end=end, tz=tz
    )
    return GlycaemiaOut.of(patient_id, summary)
