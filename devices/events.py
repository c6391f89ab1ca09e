"""Emergency events per device: which sos/fall events a `cancel` may refer to.

A cancel (`type` ``cancel``, `ref_seq` = the seq of the event it takes back) is accepted only if
the device sent that sos or fall: a cancel naming anything else is dead-lettered with reason
``unknown_ref`` (kept for inspection, never applied). An accepted cancel gets what it refers to in
its attributes, `ref_type` and `ref_ts`, so downstream stages need no memory of their own.

The ledger remembers the last `per_device` sos/fall events of each device. After a restart it is
empty; `lookup` (given by the gateway) answers from the open emergency alerts instead, which the
gateway restores from its store, so a cancel for a fall still open before the restart is applied.

A responder's `help_arrived` (the home unit's button) is accepted only for an elder with a call
for help: an sos/fall of the same patient in the ledger, or an open emergency alert (`calls`,
given by the gateway); otherwise it is dead-lettered with ``unknown_ref``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from devices.errors import DecodeError, RejectReason
from devices.kinds import Kind
from devices.model import PatientKey, Reading
from devices.timeparse import format_ts, parse_ts

CANCELLABLE = frozenset({"sos", "fall"})


@dataclass(frozen=True, slots=True)
class EventRef:
    """A cancellable event: its type and its device time."""

    type: str
    ts: datetime

    def annotate(self, cancel: Reading) -> Reading:
        """The cancel with what it refers to in its attributes (`ref_type`, `ref_ts`), which
        are stored and carried with the reading."""
        attrs = {**cancel.attrs, "ref_type": self.type, "ref_ts": format_ts(self.ts)}
        return cancel.evolve(cancel.patient_id, attrs=attrs)

    @classmethod
    def of(cls, cancel: Reading) -> EventRef | None:
        """What an accepted cancel refers to (see `annotate`); None for any other reading."""
        kind, ts = cancel.attrs.get("ref_type"), cancel.attrs.get("ref_ts")
        if not isinstance(kind, str) or not isinstance(ts, str):
            return None
        return cls(kind, parse_ts(ts))


# (reading of the cancel, ref_seq) -> the event it names, from a source outside the ledger.
Lookup = Callable[[Reading, int], EventRef | None]
# patient -> whether the elder has an open emergency call (outside the ledger).
OpenCalls = Callable[[PatientKey], bool]


class EventLedger:
    def __init__(
        self, per_device: int = 64, lookup: Lookup | None = None, calls: OpenCalls | None = None
    ) -> None:
        self.per_device = per_device
        self.lookup = lookup
        self.calls = calls
        self._events: dict[str, OrderedDict[int, EventRef]] = {}
        # patients who called, recent last
        self._callers: OrderedDict[PatientKey, None] = OrderedDict()

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
            if (caller := reading.patient) is not None:
                self._callers[caller] = None
                self._callers.move_to_end(caller)
                while len(self._callers) > 100_000:
                    self._callers.popitem(last=False)
            return reading
        if etype == "help_arrived":
            return self._arrival(reading)
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
        return ref.annotate(reading)

    def _arrival(self, reading: Reading) -> Reading:
        key = reading.patient
        called = key is not None and (
            key in self._callers or (self.calls is not None and self.calls(key))
        )
        if not called:
            raise DecodeError(
                RejectReason.UNKNOWN_REF,
                f"help_arrived from {reading.device_id!r}: no call for help of its elder",
            )
        return reading
