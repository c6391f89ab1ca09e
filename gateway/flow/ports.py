"""What the pipeline talks to (`gateway.flow.pipeline`): its live source, the notification outbox,
extra listeners; what a batch gives back; a rejected message as its dead-letter topic has it."""

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
    """The notification outbox (`gateway.notifiers.outbox.OutboxSender`): the entries to store
    with alert events, and the hand-over once they are committed."""

    def entries(self, events: Sequence[AlertEvent]) -> list[OutboxEntry]: ...

    def hand(self, stored: Sequence[OutboxEntry]) -> None: ...


class AlertSink(Protocol):
    """A notification channel; failures are its own business and never block ingest."""

    async def send(self, events: Sequence[AlertEvent]) -> None: ...


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
