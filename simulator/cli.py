"""`hmg simulate`: publish scenarios, the demo cohort, load, or recorded sources to a broker.

    hmg simulate scenario FILE [--dry-run] [--record-to out.jsonl] [--truth-to truth.json]
    hmg simulate cohort [--patients 20] [--time-scale 1] [--duration 120]
    hmg simulate load [--devices 10000] [--rate 1000] [--clients 4] [--duration 30]
    hmg simulate wfdb RECORD [--channel 0] [--device-id patch-wfdb]
    hmg simulate cgm CSV [--ids 001,002] [--tz Europe/Zurich]
    hmg simulate jsonl FILE

`--speed` 1 is real time, N accelerates N-fold, 0 sends as fast as the broker acknowledges.
`--start now|ISO` moves the stream origin (live runs default to now so readings are current;
dry runs keep the file's start, so their output is reproducible).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.timeparse import parse_ts
from simulator.cohort import Cohort
from simulator.faults import Disconnect
from simulator.load import LoadConfig, run_load
from simulator.publisher import Publisher, PublishError
from simulator.render import render
from simulator.runner import run
from simulator.scenario import ScenarioError, load
from simulator.sources import cgm_csv_messages, jsonl_messages, wfdb_messages
from simulator.wire import Message


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--qos", type=int, choices=(0, 1), default=1)
    p.add_argument("--max-inflight", type=int, default=100, help="cap on unacknowledged messages")
    p.add_argument("--username", default=None)
    p.add_argument("--password", default=None)
    p.add_argument("--client-id", default="hmg-simulate")
    p.add_argument("--tenant", default="sim")
    p.add_argument("--speed", type=float, default=1.0, help="1 real time, N faster, 0 flat out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=None, help="stop after S stream seconds")
    p.add_argument("--start", default=None, help="stream origin: 'now' or an RFC 3339 time")
    p.add_argument("--record-to", default=None, help="write what was sent as replay JSONL")
    p.add_argument("--truth-to", default=None, help="write the ground truth as JSON")
    p.add_argument("--dry-run", action="store_true", help="no broker: only --record-to/--truth-to")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hmg simulate", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("scenario", help="a TOML scenario (see simulator/scenarios/)")
    s.add_argument("file")
    c = sub.add_parser("cohort", help="the demo cohort")
    c.add_argument("--patients", type=int, default=20)
    c.add_argument("--time-scale", type=float, default=1.0)
    c.add_argument("--ecg-fs", type=float, default=250.0)
    c.add_argument("--ecg-patients", type=int, default=3)
    ld = sub.add_parser("load", help="many virtual devices at a fixed total rate")
    ld.add_argument("--devices", type=int, default=10_000)
    ld.add_argument("--rate", type=float, default=1000.0, help="messages per second in total")
    ld.add_argument("--clients", type=int, default=4, help="MQTT connections")
    w = sub.add_parser("wfdb", help="stream a WFDB record as an ECG patch in 1-s chunks")
    w.add_argument("record")
    w.add_argument("--channel", type=int, default=0)
    w.add_argument("--device-id", default="patch-wfdb")
    g = sub.add_parser("cgm", help="replay CGM CSV traces (id,time,gl mg/dL) as CGMs")
    g.add_argument("csv")
    g.add_argument("--ids", default=None, help="comma-separated trace ids")
    g.add_argument("--tz", default="Europe/Zurich", help="time zone of the CSV's local times")
    j = sub.add_parser("jsonl", help="re-publish a replay JSONL capture")
    j.add_argument("file")
    for q in (s, c, ld, w, g, j):
        _common(q)
    return p


def _start(args: argparse.Namespace, default: datetime | None) -> datetime | None:
    if args.start == "now" or (args.start is None and not args.dry_run):
        return datetime.now(UTC).replace(microsecond=0)
    return parse_ts(args.start) if args.start else default


def _limited(msgs: Iterator[Message], seconds: float | None) -> Iterator[Message]:
    first = None
    for m in msgs:
        first = first or m.at
        if seconds is not None and (m.at - first).total_seconds() > seconds:
            return
        yield m


def _messages(args: argparse.Namespace) -> tuple[Iterator[Message], list[Disconnect], object]:
    """The stream for the chosen mode, broker controls, and the ground truth (or None)."""
    if args.mode == "scenario":
        sc = load(args.file)
        start = _start(args, sc.start) or sc.start
        sc = type(sc)(**{**{f: getattr(sc, f) for f in sc.__slots__}, "start": start})
        r = render(sc, args.seed)
        return iter(r.messages), r.controls, r.truth_records()
    if args.mode == "cohort":
        start = _start(args, datetime(2026, 11, 22, tzinfo=UTC)) or datetime.now(UTC)
        cohort = Cohort(args.patients, seed=args.seed, tenant=args.tenant, start=start,
                        ecg_fs=args.ecg_fs, ecg_patients=args.ecg_patients,
                        time_scale=args.time_scale)  # fmt: skip
        horizon = args.duration if args.duration is not None else 120.0
        msgs = cohort.due_messages(start + timedelta(seconds=horizon))
        truth = {"episodes": [e.record() for e in cohort.truth()]}
        return iter(msgs), [], truth
    if args.mode == "wfdb":
        start = _start(args, datetime(2026, 11, 22, tzinfo=UTC)) or datetime.now(UTC)
        ecg = wfdb_messages(
            args.record,
            tenant=args.tenant,
            device_id=args.device_id,
            start=start,
            channel=args.channel,
            limit_s=args.duration,
        )
        return ecg, [], None
    if args.mode == "cgm":
        ids = set(args.ids.split(",")) if args.ids else None
        return cgm_csv_messages(args.csv, tenant=args.tenant, tz=args.tz,
                                start=_start(args, None), ids=ids), [], None  # fmt: skip
    return jsonl_messages(args.file, shift_to=_start(args, None)), [], None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mode == "load":
        cfg = LoadConfig(args.host, args.port, args.devices, args.rate, args.duration or 30.0,
                         args.clients, args.qos, args.max_inflight, args.tenant, args.username,
                         args.password)  # fmt: skip
        try:
            load_summary = run_load(cfg)
        except PublishError as exc:
            print(f"hmg simulate: {exc}", file=sys.stderr)
            return 1
        print(load_summary.line())
        return 0 if load_summary.errors == 0 else 1
    try:
        msgs, controls, truth = _messages(args)
    except (ScenarioError, OSError, ValueError) as exc:
        print(f"hmg simulate: {exc}", file=sys.stderr)
        return 2
    if args.truth_to and truth is not None:
        Path(args.truth_to).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    msgs = _limited(msgs, args.duration)
    publisher = None
    if not args.dry_run:
        publisher = Publisher(args.host, args.port, client_id=args.client_id, qos=args.qos,
                              max_inflight=args.max_inflight, username=args.username,
                              password=args.password)  # fmt: skip
        try:
            publisher.connect()
        except PublishError as exc:
            print(f"hmg simulate: {exc}", file=sys.stderr)
            return 1
    try:
        summary = run(msgs, publisher, speed=args.speed, record_to=args.record_to,
                      controls=controls)  # fmt: skip
    finally:
        if publisher is not None:
            publisher.close()
    print(summary.line() if publisher is not None else f"dry run: {summary.messages} messages")
    return 0 if summary.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
