"""Recorded sources: WFDB samples survive the wire exactly; CGM CSV and JSONL replay."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import wfdb

from devices.codecs import decode_payload
from simulator.render import render, write_jsonl
from simulator.scenario import library, load
from simulator.sources import cgm_csv_messages, jsonl_messages, wfdb_messages

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def test_wfdb_replay_reproduces_samples_exactly(data_dir: Path) -> None:
    for rec, channel in (("mitdb/100", 0), ("mitdb/105", 1), ("svdb/800", 0)):
        path = data_dir / "ecg" / rec
        ref = wfdb.rdrecord(str(path), physical=False, channels=[channel], sampto=120 * 360)
        msgs = list(wfdb_messages(path, tenant="t", device_id="patch-w", start=T0,
                                  channel=channel, limit_s=60))  # fmt: skip
        chunks = [decode_payload(m.topic, m.payload, T0)[0] for m in msgs]
        samples = np.concatenate([c.ecg.samples for c in chunks if c.ecg is not None])
        n = samples.size
        assert n == round(60 * ref.fs)
        assert np.array_equal(samples, ref.d_signal[:n, 0])
        first = chunks[0].ecg
        assert first is not None
        assert first.gain == ref.adc_gain[0]
        assert first.baseline == ref.baseline[0]
        assert first.fs == ref.fs
        assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
        assert chunks[1].ts == chunks[0].end_ts  # consecutive chunks continue each other


def test_cgm_csv_replay(data_dir: Path) -> None:
    path = data_dir / "glucose" / "dubosson2018_cgm.csv"
    msgs = list(cgm_csv_messages(path, tenant="t", ids={"001"}, start=T0))
    assert len(msgs) > 100
    first = json.loads(msgs[0].payload)
    assert first["data"]["unit"] == "mg/dL"
    assert first["data"]["value"] == 185.4  # the trace's first value, unchanged
    assert first["ts"] == "2026-11-22T00:00:00.000Z"
    readings = [decode_payload(m.topic, m.payload, T0)[0] for m in msgs]
    assert all(b.ts > a.ts for a, b in itertools.pairwise(readings))


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = next(p for p in library() if p.stem == "glucose_high")
    r = render(load(path), 1)
    out = tmp_path / "x.jsonl"
    write_jsonl(r.jsonl(), out)
    again = list(jsonl_messages(out))
    assert [(m.topic, m.payload) for m in again] == [(m.topic, m.payload) for m in r.messages]
    assert [m.at for m in again] == [m.at for m in r.messages]
