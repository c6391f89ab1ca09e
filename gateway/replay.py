"""`hmg replay`: a JSONL capture through decode -> detect -> lifecycle, offline, on its own clock.

Each line is `{"topic": ..., "payload": ...}`; the payload is the message's JSON value, or a
string holding the raw bytes for non-JSON input. The replay clock is the latest reading time seen
so far; readings older than it by more than the late-data limit are stored-as-late (no alerts).
Unknown devices are bound to the payload's `patient_id`, else to a patient named like the device.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.engine import DetectionEngine
from alerts.model import AlertEvent
from alerts.serialize import event_to_json
from devices.registry import DeviceRegistry
from gateway.processor import Inbound, Processor

TICK = timedelta(seconds=5)
# Receive time of messages before the first reading has set the replay clock.
REPLAY_START = datetime(2000, 1, 1, tzinfo=UTC)


class ReplayLineError(ValueError):
    def __init__(self, lineno: int, detail: str) -> None:
        super().__init__(f"line {lineno}: {detail}")
        self.lineno = lineno


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return json.dumps(payload, separators=(",", ":")).encode()


def make_processor(late_after_s: float = 600.0, detectors: list[str] | None = None) -> Processor:
    return Processor(
        DeviceRegistry(auto_bind=True),
        DetectionEngine(detectors),
        late_after=timedelta(seconds=late_after_s),
        replay=True,
    )


def replay_events(lines: Iterable[str], processor: Processor | None = None) -> Iterator[AlertEvent]:
    """Alert events in the order the replay produces them."""
    proc = processor or make_processor()
    last_tick = None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayLineError(lineno, f"not JSON: {exc}") from exc
        if not isinstance(doc, dict) or "topic" not in doc or "payload" not in doc:
            raise ReplayLineError(lineno, 'expected {"topic": ..., "payload": ...}')
        clock = proc.replay_clock
        msg = Inbound(str(doc["topic"]), _payload_bytes(doc["payload"]), clock or REPLAY_START)
        decoded = proc.decode([msg])
        yield from proc.detect(decoded.readings)
        clock = proc.replay_clock
        if clock is not None and (last_tick is None or clock - last_tick >= TICK):
            last_tick = clock
            yield from proc.tick(clock)


def replay_lines(
    lines: Iterable[str], processor: Processor | None = None
) -> Iterator[dict[str, Any]]:
    """Alert events as the JSON objects `hmg replay` prints."""
    for event in replay_events(lines, processor):
        yield event_to_json(event)
