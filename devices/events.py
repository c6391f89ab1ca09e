"""Emergency events per device: which sos/fall events a `cancel` may refer to.

A cancel (`type` ``cancel``, `ref_seq` = the seq of the event it takes back) is accepted only if
the device sent that sos or fall: a cancel naming anything else is dead-lettered with reason
``unknown_ref`` (kept for inspection, never applied). An accepted cancel gets what it refers to in
its attributes, `ref_type` and `ref_ts`, so downstream stages need no memory of their own.

The ledger remembers the last `per_device` sos/fall events of each device. After a restart it is
empty; `lookup` (given by the gateway) answers from the open emergency alerts instead, which the
gateway restores from its store, so a cancel for a fall still open before the restart is applied.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from devices.errors import DecodeError, RejectReason
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts

CANCELLABLE = frozenset({"sos", "fall"})


@dataclass(frozen=True, slots=True)
class EventRef:
    """A cancellable event: its type and its device time."""

    type: str
    ts: datetime


# (reading of the cancel, ref_seq) -> the event it names, from a source outside the ledger.
Lookup = Callable[[Reading, int], EventRef | None]


class EventLedger:
    def __init__(self, per_device: int = 64, lookup: Lookup | None = None) -> None:
        self.per_device = per_device
        self.lookup = lookup
        self._events: dict[str, OrderedDict[int, EventRef]] = {}

    def check(self, reading: Reading) -> Reading:
        """Remember an sos/fall; annotate a cancel with what it refers to, or reject it."""
        if reading.kind is not Kind.EVENT:
            return reading
        etype = reading.attrs.get("type")
        if etype in CANCELLABLE:
            seen = self._events.setdefault(reading.device_id, OrderedDict())
            seen[reading.seq] = EventRef(str(etype), reading.ts)
            while len(seen) > self.per_device:
                seen.popitem(last=False)
            return reading
        if etype != "cancel":
            return reading
        ref_seq = reading.attrs.get("ref_seq")
        assert isinstance(ref_seq, int)  # the codec requires it for a cancel
        seen_by = self._events.get(reading.device_id)
        ref = seen_by.get(ref_seq) if seen_by is not None else None
        if ref is None and self.lookup is not None:
            ref = self.lookup(reading, ref_seq)
        if ref is None:
            raise DecodeError(
                RejectReason.UNKNOWN_REF,
                f"cancel from {reading.device_id!r} names seq {ref_seq}: no sos/fall of it",
            )
        attrs = {**reading.attrs, "ref_type": ref.type, "ref_ts": format_ts(ref.ts)}
        return reading.evolve(reading.patient_id, attrs=attrs)
