"""What the pipeline talks to (`gateway.flow.pipeline`): its live source and the notification
outbox; what a batch gives back; a rejected message as its dead-letter topic has it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.model import AlertEvent
from gateway.flow.intake import Inbound, Rejected
from gateway.storage import OutboxEntry


class Source(Protocol):
    """Where live messages come from and where their acknowledgements go (the MQTT link)."""

    @property
    def backlog(self) -> int:
        """Messages taken from the broker and not yet done with."""
        ...

    def take_batch(self) -> list[Inbound]:
        """Block briefly for the next batch (run in a thread); [] when none came."""
        ...

    def ack(self, batch: list[Inbound]) -> None: ...

    def release(self, batch: list[Inbound]) -> None:
        """Done with a batch without acknowledging it (the broker redelivers it)."""
        ...


class Notifications(Protocol):
    """Who tells the world of stored alert events (`gateway.notifiers.outbox.OutboxSender`):
    `entries` are their notifications, stored with the events in one alert record (an event is
    never stored without them), `send` delivers the stored ones once the record is committed.
    The detection pipeline, the clinicians' actions and the consultations all go through it."""

    def entries(self, events: Sequence[AlertEvent]) -> Sequence[OutboxEntry]: ...

    async def send(self, events: Sequence[AlertEvent], staged: Sequence[OutboxEntry]) -> None: ...


def deadletter_message(d: Rejected) -> bytes:
    try:
        original: object = json.loads(d.payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        original = d.payload.decode("utf-8", errors="replace")
    return json.dumps(
        {
            "topic": d.topic,
            "reason": d.reason.value,
            "detail": d.detail,
            "received_at": d.received_at.isoformat(),
            "payload": original,
        }
    ).encode()


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    stored: int
    duplicates: int
    rejected: int
    events: list[AlertEvent]
