"""The ECG window a request carries: the stored strip of [start, end) run through the streaming
analyser (beats, beat labels, episodes), frozen as an `EcgWindow`."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np

from alerts.consult import MAX_WINDOW, EcgWindow
from alerts.ecg.analyzer import EcgAnalyzer
from alerts.model import Alert
from devices.model import PatientKey
from gateway.storage import ReadingStore


def alert_window(alert: Alert) -> tuple[datetime, datetime, str | None] | None:
    """The alert's evidence window (its strip, else its episode), at most 10 minutes."""
    ev = alert.evidence
    strip = ev.get("strip") if isinstance(ev.get("strip"), dict) else None
    episode = ev.get("episode") if isinstance(ev.get("episode"), dict) else None
    start_s = (strip or {}).get("from") or (episode or {}).get("start")
    if not start_s:
        return None
    start = datetime.fromisoformat(str(start_s).replace("Z", "+00:00"))
    end_s = (strip or {}).get("to") or (episode or {}).get("end")
    end = datetime.fromisoformat(str(end_s).replace("Z", "+00:00")) if end_s else start
    if end <= start:
        end = start + timedelta(seconds=60)
    device = (strip or {}).get("device_id")
    return start, min(end, start + MAX_WINDOW), str(device) if device else None


async def snapshot(
    readings: ReadingStore, patient: PatientKey, start: datetime, end: datetime, device: str | None
) -> EcgWindow | None:
    """The analysed window, or None when no ECG was stored in it."""
    strip = await readings.ecg_strip(patient, start, end, device)
    if strip is None:
        return None
    ana = EcgAnalyzer(strip.fs)
    first, last = ana.feed(strip.mv), ana.finish()
    beats = [*first.beats, *last.beats]
    label_of = dict(
        zip((*first.classified, *last.classified), (*first.labels, *last.labels), strict=False)
    )
    episodes: dict[tuple[str, int], Any] = {}
    for e in (*first.closed, *last.closed, *first.opened, *last.opened):
        episodes.setdefault((e.label.value, e.start), e)
    n = int(strip.mv.size)
    rr = np.diff(np.asarray(beats, dtype=np.float64)) / strip.fs
    rate = round(float(60.0 / np.median(rr)), 1) if rr.size else None
    return EcgWindow(
        device_id=strip.device_id,
        lead=strip.lead,
        fs=strip.fs,
        start=strip.start,
        samples=tuple(round(float(v), 4) for v in strip.mv),
        beats=tuple(int(b) for b in beats),
        labels=tuple(label_of.get(b, "Q") for b in beats) if label_of else (),
        episodes=tuple(
            MappingProxyType(
                {
                    "label": lab,
                    "start": s,
                    "end": e.end if e.end is not None else n,
                    "mean_hr": e.mean_hr,
                }
            )
            for (lab, s), e in sorted(episodes.items(), key=lambda kv: kv[0][1])
        ),
        heart_rate=rate,
    )
