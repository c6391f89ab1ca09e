"""Paced publishing of a message stream: real time, accelerated by a factor, or flat out.

`speed` 1 keeps the stream's own spacing, 60 plays an hour per minute, 0 sends as fast as the
broker acknowledges. What was actually published is written to `record_to` in the `hmg replay`
format, one line per message, so a live run can be replayed offline.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from simulator.faults import Disconnect
from simulator.publisher import Publisher, interrupt
from simulator.wire import Message


@dataclass(frozen=True, slots=True)
class RunSummary:
    messages: int
    sent: int
    acked: int
    errors: int
    seconds: float

    def line(self) -> str:
        rate = self.sent / self.seconds if self.seconds > 0 else 0.0
        return (f"published {self.sent}/{self.messages} messages in {self.seconds:.1f} s "
                f"({rate:.0f}/s), acknowledged {self.acked}, errors {self.errors}")  # fmt: skip


class Recorder:
    """Writes sent messages as replay JSONL (or discards them when `path` is None)."""

    def __init__(self, path: str | Path | None) -> None:
        self._fh: TextIO | None = None
        if path:
            self._fh = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, msg: Message) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(msg.record(), separators=(",", ":"), ensure_ascii=False))
            self._fh.write("\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def run(
    messages: Iterable[Message],
    publisher: Publisher | None,
    *,
    speed: float = 1.0,
    record_to: str | Path | None = None,
    controls: Iterable[Disconnect] = (),
    duration: float | None = None,
    progress: TextIO | None = sys.stderr,
) -> RunSummary:
    """Publish `messages` (ordered by `at`); `publisher` None is a dry run (record only)."""
    recorder = Recorder(record_to)
    pending = sorted(controls, key=lambda c: c.at)
    t0 = time.monotonic()
    first = None
    count = 0
    last_report = t0
    try:
        for msg in messages:
            first = first or msg.at
            offset = (msg.at - first).total_seconds()
            if duration is not None and offset > duration:
                break
            while pending and pending[0].at <= msg.at and publisher is not None:
                interrupt(publisher, pending.pop(0).seconds)
            if publisher is not None and speed > 0:
                delay = t0 + offset / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            count += 1
            if publisher is None or publisher.publish(msg.topic, msg.payload):
                recorder.write(msg)
            now = time.monotonic()
            if publisher is not None and progress is not None and now - last_report >= 2.0:
                s = publisher.stats
                progress.write(f"\r{count} messages, sent {s.sent}, acked {s.acked}, "
                               f"errors {s.errors}  ")  # fmt: skip
                progress.flush()
                last_report = now
        if publisher is not None:
            publisher.flush(30.0)
    finally:
        recorder.close()
    elapsed = time.monotonic() - t0
    if publisher is None:
        return RunSummary(count, count, 0, 0, elapsed)
    s = publisher.stats
    return RunSummary(count, s.sent, s.acked, s.errors, elapsed)
