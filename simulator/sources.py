"""Recorded sources replayed as live devices: WFDB ECG records, CGM CSV traces, JSONL captures.

WFDB: the record's *digital* samples go on the wire unchanged with the record's ADC gain and
baseline, so `decode_payload` gives back exactly the record's samples (and `millivolts()` its
physical signal). CSV CGM traces (GlucoBench layout `id,time,gl`, local time without zone, mg/dL)
become one CGM per `id`. JSONL captures (`hmg replay` format) are re-published as they are.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from devices.timeparse import format_ts, parse_ts
from simulator.wire import DeviceWire, Message, dumps


def wfdb_messages(
    record: str | Path,
    *,
    tenant: str,
    device_id: str,
    start: datetime,
    channel: int = 0,
    chunk_s: float = 1.0,
    limit_s: float | None = None,
) -> Iterator[Message]:
    """1-second (`chunk_s`) ECG chunks of one channel of a WFDB record, from `start`."""
    import wfdb

    rec = wfdb.rdrecord(str(record), physical=False, channels=[channel])
    fs = float(rec.fs)
    sig = np.asarray(rec.d_signal[:, 0], dtype=np.int64)
    if sig.size and (sig.min() < -32768 or sig.max() > 32767):
        raise ValueError(f"{record}: samples exceed int16, cannot use samples_b64")
    gain = float(rec.adc_gain[0]) or 200.0  # WFDB: gain 0 means "uncalibrated", 200 by convention
    baseline = int(rec.baseline[0])
    lead = str(rec.sig_name[0])
    n = round(fs * chunk_s)
    stop = sig.size if limit_s is None else min(sig.size, round(limit_s * fs))
    wire = DeviceWire(tenant, device_id)
    for a in range(0, stop, n):
        block = sig[a : min(a + n, stop)].astype(np.int32)
        ts = start + timedelta(seconds=a / fs)
        msg = wire.ecg(ts, fs, block, gain, baseline, lead)
        yield Message(ts + timedelta(seconds=block.size / fs), msg.topic, msg.payload)


def cgm_csv_messages(
    path: str | Path,
    *,
    tenant: str,
    tz: str = "Europe/Zurich",
    start: datetime | None = None,
    ids: set[str] | None = None,
    prefix: str = "cgm-d1n-",
) -> Iterator[Message]:
    """CGM traces in mg/dL; with `start`, the whole file is shifted so its first reading is at
    `start` (intervals and the relative timing of patients are kept)."""
    zone = ZoneInfo(tz)
    rows: list[tuple[datetime, str, float]] = []
    with Path(path).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pid = row["id"].strip()
            if ids is not None and pid not in ids:
                continue
            try:
                local = datetime.fromisoformat(row["time"].strip())
                value = float(row["gl"])
            except (ValueError, KeyError):
                continue  # a damaged line in a public trace is skipped, not fatal
            rows.append((local.replace(tzinfo=zone).astimezone(UTC), pid, value))
    rows.sort(key=lambda r: (r[0], r[1]))
    shift = start - rows[0][0] if start is not None and rows else timedelta(0)
    wires: dict[str, DeviceWire] = {}
    for ts, pid, mgdl in rows:
        wire = wires.setdefault(pid, DeviceWire(tenant, prefix + pid, glucose_unit="mg/dL"))
        msg = wire.glucose(ts + shift, mgdl / 18.016, "cgm")
        doc = json.loads(msg.payload)
        doc["data"]["value"] = mgdl  # the trace's own value, not a round trip through mmol/L
        yield Message(ts + shift, msg.topic, dumps(doc))


def jsonl_messages(path: str | Path, *, shift_to: datetime | None = None) -> Iterator[Message]:
    """A replay file as messages; the send time is the payload's `ts` (first batch item's) when
    it has one, else the previous line's. With `shift_to`, every JSON `ts` moves by the same
    offset so the first one lands at `shift_to`."""
    last = datetime(2000, 1, 1, tzinfo=UTC)
    shift: timedelta | None = None
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            payload = rec["payload"]
            if isinstance(payload, str):
                yield Message(last, str(rec["topic"]), payload.encode("utf-8"))
                continue
            items = payload if isinstance(payload, list) else [payload]
            for item in items:
                if isinstance(item, dict) and "ts" in item:
                    try:
                        ts = parse_ts(item["ts"])
                    except ValueError:
                        continue
                    if shift_to is not None:
                        shift = shift if shift is not None else shift_to - ts
                        ts += shift
                        item["ts"] = format_ts(ts)
                    last = ts
            yield Message(last, str(rec["topic"]), dumps(payload))
