"""The gateway's background jobs beside detection (platform push, results notices, follow-ups):
each runs a step every interval with its own outbox sender delivering what the steps store, and
raises a technical alert through the pipeline when a channel keeps failing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.model import AlertCandidate
from alerts.targets import Targets
from devices.model import PatientKey
from devices.registry import DeviceRegistry
from gateway.notifiers.base import Channel
from gateway.notifiers.outbox import OutboxSender
from gateway.storage import ReadingStore, Stores
from gateway.storage.readings import ReadingFeed

log = logging.getLogger(__name__)

RaiseNow = Callable[[Sequence[AlertCandidate], str], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobParts:
    """What the jobs read and write, from the composition root (never the running gateway):
    the stores, the readings and their `feed` (what was stored since a job last looked), the
    device `registry`, the care-team targets, the clock, the pipeline's `raise_now` for a
    technical alert, and the `personal` channels (SMS, e-mail) that reach people."""

    stores: Stores
    readings: ReadingStore
    feed: ReadingFeed
    registry: DeviceRegistry
    targets_for: Callable[[PatientKey], Targets]
    clock: Callable[[], datetime]
    raise_now: RaiseNow
    personal: Sequence[Channel] = ()


class Job:
    """A job over the runtime's `parts`, with what every job's steps read at hand: the stores,
    the readings, the targets lookup, the clock and `raise_now`."""

    def __init__(self, parts: JobParts) -> None:
        self.parts = parts
        self.stores = parts.stores
        self.readings = parts.readings
        self.targets_for = parts.targets_for
        self.clock = parts.clock
        self.raise_now = parts.raise_now


async def run_job(
    what: str,
    step: Callable[[], Awaitable[object]],
    sender: OutboxSender,
    stop: asyncio.Event,
    interval_s: float,
) -> None:
    """`step` every `interval_s` until `stop` is set, `sender` delivering meanwhile; a failed
    step is logged and tried again at the next interval (what it stored stays stored)."""
    sending = asyncio.create_task(sender.run(stop))
    try:
        while not stop.is_set():
            try:
                await step()
            except Exception:
                log.exception("%s failed", what)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await sending


def raise_later(
    raise_now: RaiseNow, tasks: set[asyncio.Task[None]], cand: AlertCandidate, tenant: str
) -> None:
    """Raise `cand` through the pipeline from a synchronous callback (a sender's `on_failing`);
    `tasks` keeps the task alive until it is done."""
    task = asyncio.get_running_loop().create_task(raise_now([cand], tenant))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
