"""Device and network faults, applied to a rendered, time-ordered message list.

Each fault returns the changed list and a `FaultRecord` per message it touched, so a test (or a
gateway evaluation) can check that exactly those faults reached the wire. Broker disconnects cannot
be expressed as messages: they come back as `Disconnect` controls that the live runner executes.
Battery drain and ECG lead-off are device *events* (see `simulator.events`), not wire faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from devices.timeparse import format_ts, parse_ts
from simulator.scenario import FaultDef, ScenarioError, seconds
from simulator.wire import Message, dumps


@dataclass(frozen=True, slots=True)
class FaultRecord:
    type: str
    topic: str
    at: datetime
    seq: int | None = None
    detail: str = ""

    def record(self) -> dict[str, Any]:
        return {"fault": self.type, "topic": self.topic, "at": format_ts(self.at),
                "seq": self.seq, "detail": self.detail}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The publisher drops its broker connection at `at` for `seconds`."""

    at: datetime
    seconds: float


@dataclass(slots=True)
class FaultContext:
    origin: datetime
    rng: np.random.Generator
    records: list[FaultRecord]
    controls: list[Disconnect]


Fault = Callable[[list[Message], FaultDef, FaultContext], list[Message]]


def _doc(m: Message) -> dict[str, Any] | None:
    try:
        doc = json.loads(m.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _device(m: Message) -> str:
    parts = m.topic.split("/")
    return parts[3] if len(parts) == 5 else ""


def _selected(m: Message, f: FaultDef, ctx: FaultContext) -> bool:
    """In the fault's device (default all) and time window (`from`, `to` on the timeline)."""
    dev = f.params.get("device")
    if dev is not None and _device(m) != dev:
        return False
    lo = ctx.origin + timedelta(seconds=seconds(f.params.get("from", 0), f.type))
    hi_raw = f.params.get("to")
    hi = ctx.origin + timedelta(seconds=seconds(hi_raw, f.type)) if hi_raw is not None else None
    return m.at >= lo and (hi is None or m.at < hi)


def _hit(f: FaultDef, ctx: FaultContext) -> bool:
    return bool(ctx.rng.random() < float(f.params.get("probability", 0.1)))


def _note(ctx: FaultContext, f: FaultDef, m: Message, detail: str = "") -> None:
    doc = _doc(m)
    seq = doc.get("seq") if doc else None
    ctx.records.append(FaultRecord(f.type, m.topic, m.at, seq if isinstance(seq, int) else None,
                                   detail))  # fmt: skip


def dropout(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    out = []
    for m in msgs:
        if _selected(m, f, ctx) and _hit(f, ctx):
            _note(ctx, f, m)
        else:
            out.append(m)
    return out


def duplicate(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    delay = timedelta(seconds=float(f.params.get("after", 0.5)))
    out = list(msgs)
    for m in msgs:
        if _selected(m, f, ctx) and _hit(f, ctx):
            _note(ctx, f, m)
            out.append(replace(m, at=m.at + delay))
    return out


def reorder(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    """Hold a message back by `delay` seconds, so later messages of its device overtake it."""
    delay = timedelta(seconds=float(f.params.get("delay", 30)))
    out = []
    for m in msgs:
        if _selected(m, f, ctx) and _hit(f, ctx):
            _note(ctx, f, m, f"delayed {delay.total_seconds():g} s")
            out.append(replace(m, at=m.at + delay))
        else:
            out.append(m)
    return out


def clock_skew(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    """The device clock is off by `seconds`: its `ts` fields shift, send times do not."""
    skew = timedelta(seconds=float(f.params.get("seconds", 600)))
    out = []
    for m in msgs:
        doc = _doc(m)
        if doc is not None and "ts" in doc and _selected(m, f, ctx):
            doc["ts"] = format_ts(parse_ts(doc["ts"]) + skew)
            _note(ctx, f, m, f"ts {skew.total_seconds():+g} s")
            out.append(replace(m, payload=dumps(doc)))
        else:
            out.append(m)
    return out


def late_batch(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    """Readings of one device in [from, to) are held (offline device) and sent at `to` + `delay`
    as JSON-array batches (<= 1000 readings each, the v1 batch limit)."""
    if "device" not in f.params or "to" not in f.params:
        raise ScenarioError("late_batch needs a device and a 'to' time", f.type)
    send = ctx.origin + timedelta(seconds=seconds(f.params["to"]) + float(f.params.get("delay", 0)))
    held = [m for m in msgs if _selected(m, f, ctx)]
    out = [m for m in msgs if not _selected(m, f, ctx)]
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for m in held:
        doc = _doc(m)
        if doc is not None:
            by_topic.setdefault(m.topic, []).append(doc)
            _note(ctx, f, m, f"sent at {format_ts(send)}")
    for topic, docs in by_topic.items():
        for i in range(0, len(docs), 1000):
            out.append(Message(send, topic, dumps(docs[i : i + 1000])))
    return out


def _malform(m: Message, variant: str) -> Message:
    doc = _doc(m) or {}
    if variant == "truncated":
        return replace(m, payload=m.payload[: max(1, len(m.payload) // 2)])
    if variant == "not_utf8":
        return replace(m, payload=b"\xff\xfe" + m.payload[2:])
    if variant == "wrong_type":
        data = doc.get("data", {})
        key = next(iter(data), "value")
        return replace(m, payload=dumps({**doc, "data": {**data, key: "high"}}))
    if variant == "missing_field":
        return replace(m, payload=dumps({k: v for k, v in doc.items() if k != "ts"}))
    if variant == "bad_unit":
        data = {**doc.get("data", {}), "unit": "furlongs"}
        return replace(m, payload=dumps({**doc, "data": data}))
    return replace(m, payload=dumps({**doc, "schema": "hm.reading/999"}))


MALFORMED_VARIANTS = ("truncated", "not_utf8", "wrong_type", "missing_field", "bad_unit",
                      "unknown_schema")  # fmt: skip


def malformed(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    variants = tuple(f.params.get("variants", MALFORMED_VARIANTS))
    out = []
    for m in msgs:
        if _selected(m, f, ctx) and _hit(f, ctx):
            variant = str(variants[int(ctx.rng.integers(len(variants)))])
            if variant == "bad_unit" and (_doc(m) or {}).get("kind") not in ("bp", "glucose"):
                variant = "wrong_type"  # only BP and glucose carry a unit
            _note(ctx, f, m, variant)
            out.append(_malform(m, variant))
        else:
            out.append(m)
    return out


def spoofed(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    """Someone else's message: the payload's device_id differs from the topic's (`mismatch`), or
    an unregistered device (`rogue`) publishes a copy; both are added next to the real one."""
    out = list(msgs)
    for m in msgs:
        doc = _doc(m)
        if doc is None or not (_selected(m, f, ctx) and _hit(f, ctx)):
            continue
        if ctx.rng.random() < 0.5:
            fake = {**doc, "device_id": "spoof-" + str(doc.get("device_id"))}
            spoof = Message(m.at, m.topic, dumps(fake))
            ctx.records.append(FaultRecord(f.type, m.topic, m.at, doc.get("seq"), "mismatch"))
        else:
            rogue = "rogue-" + _device(m)
            parts = m.topic.split("/")
            parts[3] = rogue
            spoof = Message(m.at, "/".join(parts), dumps({**doc, "device_id": rogue}))
            ctx.records.append(FaultRecord(f.type, spoof.topic, m.at, doc.get("seq"), "rogue"))
        out.append(spoof)
    return out


def broker_disconnect(msgs: list[Message], f: FaultDef, ctx: FaultContext) -> list[Message]:
    at = ctx.origin + timedelta(seconds=seconds(f.params.get("at", 60), f.type))
    secs = seconds(f.params.get("for", 5), f.type)
    ctx.controls.append(Disconnect(at, secs))
    ctx.records.append(FaultRecord(f.type, "", at, None, f"{secs:g} s"))
    return msgs


FAULTS: dict[str, Fault] = {
    "dropout": dropout,
    "duplicate": duplicate,
    "reorder": reorder,
    "clock_skew": clock_skew,
    "late_batch": late_batch,
    "malformed": malformed,
    "spoofed": spoofed,
    "broker_disconnect": broker_disconnect,
}


def apply(
    msgs: list[Message], faults: tuple[FaultDef, ...], origin: datetime, seed: int
) -> tuple[list[Message], list[FaultRecord], list[Disconnect]]:
    """Apply `faults` in order; the result is sorted by send time (stable)."""
    ctx = FaultContext(origin, np.random.Generator(np.random.PCG64([seed, 99])), [], [])
    for f in faults:
        try:
            handler = FAULTS[f.type]
        except KeyError as exc:
            raise ScenarioError(f"unknown fault {f.type!r}; one of {', '.join(FAULTS)}") from exc
        msgs = handler(msgs, f, ctx)
    msgs.sort(key=lambda m: m.at)
    return msgs, ctx.records, ctx.controls
