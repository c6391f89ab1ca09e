"""The pipeline's first stage: MQTT messages -> readings, resolved to patients and flagged.

`Intake.decode` parses each message's topic, gates the kiosk format, runs the codec, resolves
the device to its patient through the registry, flags late, future and discontinuous readings,
and turns whatever fails into a `Rejected` with its reason (dead letters). Synchronous, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.detectors.emergency import RAISING, event_group
from alerts.model import Alert
from devices.codecs import decode_payload
from devices.continuity import ContinuityTracker
from devices.errors import DecodeError, RejectReason
from devices.events import EventLedger, EventRef, Lookup, OpenCalls
from devices.model import PatientKey, Reading, Topic
from devices.registry import Device, DeviceRegistry


@dataclass(frozen=True, slots=True)
class Inbound:
    """One MQTT message as received; `mid`/`qos`/`conn` identify it for the acknowledgement.

    `conn` is the ingest's connection generation: a message is acknowledged only on the
    connection that delivered it (after a reconnect the broker redelivers it instead).
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    conn: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    tenant: str
    topic: str
    reason: RejectReason
    detail: str
    payload: bytes
    received_at: datetime


@dataclass(slots=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    new_devices: list[Device] = field(default_factory=list)
    # The readings store's position after this batch was written (None: not stored, or a
    # store without positions); detection records it as its progress.
    position: int | None = None


def _tenant_of(topic: str) -> str:
    parts = topic.split("/")
    return parts[2] if len(parts) > 2 and parts[0] == "hm" and parts[2] else "unknown"


KIOSK_TOPIC_KIND = "kiosk"


class ReplayClock:
    """The virtual time of `hmg replay`: the latest reading time seen so far (or a tick line's).

    Calling it gives the time (a fixed start before the first reading), like any other clock.
    """

    def __init__(self) -> None:
        self.at: datetime | None = None

    def advance(self, at: datetime) -> None:
        if self.at is None or at > self.at:
            self.at = at

    def __call__(self) -> datetime:
        return self.at or REPLAY_START


# Receive time of messages before the first reading has set the replay clock.
REPLAY_START = datetime(2000, 1, 1, tzinfo=UTC)


def open_emergencies(active: Callable[[], Iterable[Alert]]) -> Lookup:
    """The sos/fall a cancel names, from the open emergency alerts (`active`, e.g. the desk's):
    after a restart the event ledger is empty, the open alerts are restored."""

    def lookup(cancel: Reading, ref_seq: int) -> EventRef | None:
        groups = {
            event_group(code, cancel.device_id, ref_seq): etype for etype, code in RAISING.items()
        }
        for alert in active():
            if (
                alert.patient_id == cancel.patient_id
                and alert.tenant == cancel.tenant
                and alert.group in groups
            ):
                return EventRef(groups[alert.group], alert.source_ts)
        return None

    return lookup


def emergency_callers(active: Callable[[], Iterable[Alert]]) -> OpenCalls:
    """Whether an elder has an open emergency call, from the open alerts (`active`): a
    responder's `help_arrived` for nobody's call is dead-lettered (`devices.events`)."""

    def calls(patient: PatientKey) -> bool:
        return any(a.emergency and a.patient == patient for a in active())

    return calls


class Intake:
    """Decoding and resolution, stateful (registry, ECG continuity) but I/O-free.

    `future_policy` says what happens to a reading stamped further in the future than
    `future_skew`: ``reject`` (dead-letter with reason ``timestamp``) or ``flag`` (store it with the
    ``clock_skew`` flag). With a `replay_clock`, readings set that clock and lateness is judged
    against it instead of against their receive time. `event_lookup` answers which sos/fall a
    cancel names when the event ledger does not know it (see `open_emergencies`).
    """

    def __init__(
        self,
        registry: DeviceRegistry,
        *,
        late_after: timedelta = timedelta(minutes=10),
        future_skew: timedelta = timedelta(minutes=5),
        max_payload: int = 512 * 1024,
        future_policy: str = "reject",
        replay_clock: ReplayClock | None = None,
        event_lookup: Lookup | None = None,
        open_calls: OpenCalls | None = None,
    ) -> None:
        if future_policy not in ("reject", "flag"):
            raise ValueError(f"future_policy must be 'reject' or 'flag', not {future_policy!r}")
        self.registry = registry
        self.late_after = late_after
        self.future_skew = future_skew
        self.max_payload = max_payload
        self.future_policy = future_policy
        self.replay_clock = replay_clock
        self.continuity = ContinuityTracker()
        self.events = EventLedger(lookup=event_lookup, calls=open_calls)

    @property
    def replaying(self) -> bool:
        return self.replay_clock is not None

    # -- decode ---------------------------------------------------------------------------
    def decode(self, batch: Sequence[Inbound]) -> Decoded:
        out = Decoded()
        for msg in batch:
            try:
                topic = Topic.parse(msg.topic)
                if topic.kind == KIOSK_TOPIC_KIND:
                    self._require_kiosk(topic, out)
                readings = decode_payload(topic, msg.payload, msg.received_at, self.max_payload)
                resolved = [self._resolve(r, out) for r in readings]
                if topic.kind == "event":
                    resolved = [self.events.check(r) for r in resolved]
            except DecodeError as exc:
                out.rejected.append(
                    Rejected(
                        _tenant_of(msg.topic),
                        msg.topic,
                        exc.reason,
                        exc.detail,
                        msg.payload,
                        msg.received_at,
                    )
                )
                continue
            if topic.kind == "ecg":
                resolved = [self.continuity.check(r) for r in resolved]
            out.readings.extend(resolved)
        return out

    def _require_kiosk(self, topic: Topic, out: Decoded) -> None:
        """The kiosk batch format is accepted only from devices registered as kiosks."""
        dev = self.registry.get(topic.device_id)
        if dev is None and self.registry.auto_bind:
            dev = Device(topic.device_id, topic.tenant, KIOSK_TOPIC_KIND, kiosk=True)
            self.registry.put(dev)
            out.new_devices.append(dev)
        if dev is None:
            raise DecodeError(RejectReason.UNKNOWN_DEVICE, f"device {topic.device_id!r}")
        if not dev.kiosk:
            raise DecodeError(
                RejectReason.NOT_KIOSK,
                f"kiosk batch from {topic.device_id!r}, which is not registered as a kiosk",
            )

    def _resolve(self, reading: Reading, out: Decoded) -> Reading:
        registry = self.registry
        known = reading.device_id in registry
        resolved = registry.resolve(reading)
        if not known:
            dev = registry.get(reading.device_id)
            if dev is not None:
                out.new_devices.append(dev)
        if self.replay_clock is not None:
            self.replay_clock.advance(resolved.ts)
            if self.replay_clock() - resolved.ts > self.late_after:
                return resolved.evolve(resolved.patient_id, resolved.flags | {"late"})
            return resolved
        ahead = resolved.ts - resolved.received_at
        if ahead > self.future_skew:
            if self.future_policy == "reject":
                raise DecodeError(
                    RejectReason.TIMESTAMP,
                    f"ts {resolved.ts.isoformat()} is ahead of the gateway clock by more than "
                    f"{self.future_skew.total_seconds():.0f} s",
                )
            return resolved.evolve(resolved.patient_id, resolved.flags | {"clock_skew"})
        if -ahead > self.late_after:
            return resolved.evolve(resolved.patient_id, resolved.flags | {"late"})
        return resolved

    def is_kiosk(self, device_id: str) -> bool:
        dev = self.registry.get(device_id)
        return dev is not None and dev.kiosk
