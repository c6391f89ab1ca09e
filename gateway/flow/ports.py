"""What the pipeline talks to (`gateway.flow.pipeline`): its live source and the alert
outbox; what a batch gives back; a rejected message as its dead-letter topic has it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from alerts.model import AlertEvent
from gateway.flow.intake import Inbound, Rejected
from gateway.storage import AlertRecord, Write


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


class AlertOutbox(Protocol):
    """Where alert changes are written and then told (`gateway.notifiers.outbox.OutboxSender`,
    the transactional outbox): `record` stores the change with its events' notifications in one
    transaction (an event is never stored without them) and sends them once it is committed.
    The detection pipeline, the clinicians' actions and the consultations all go through it."""

    async def record(self, record: AlertRecord, *, also: Write | None = None) -> None: ...


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
