"""The `event` kind: decoding with reason codes, the wire round trip, and the cancel ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.codecs import V1Codec, decode_payload
from devices.errors import DecodeError, RejectReason
from devices.events import EventLedger, EventRef
from devices.kinds import Kind
from devices.model import PatientKey, Reading
from tests.support.wire import v1

T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
TOPIC = "hm/v1/t1/watch-1/event"


def decode(data: dict[str, Any], seq: int = 9) -> Reading:
    [r] = decode_payload(TOPIC, v1("watch-1", "event", seq, data, T0), T0)
    return r


def test_fall_with_confidence_position_and_component() -> None:
    data = {
        "type": "fall",
        "confidence": 0.92,
        "location": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 15},
        "component": "accelerometer",
    }
    r = decode(data)
    assert r.kind is Kind.EVENT
    assert r.values == {"confidence": 0.92, "lat": 31.2304, "lon": 121.4737, "accuracy_m": 15}
    assert r.attrs == {"type": "fall", "component": "accelerometer"}
    again = json.loads(V1Codec().encode([r]))
    assert again["data"] == data


def test_sos_in_a_room_and_cancel_with_ref() -> None:
    assert decode({"type": "sos", "location": {"room": "bathroom"}}).attrs["room"] == "bathroom"
    assert decode({"type": "cancel", "ref_seq": 8}).attrs == {"type": "cancel", "ref_seq": 8}
    assert (
        decode({"type": "help_arrived", "component": "home-unit"}).attrs["type"] == "help_arrived"
    )


def test_motion_and_door_sightings_of_the_home_kit() -> None:
    """The home activity kit's events decode, round-trip and raise no emergency by themselves."""
    motion = decode({"type": "motion", "location": {"room": "kitchen"}, "component": "pir"})
    assert motion.attrs == {"type": "motion", "room": "kitchen", "component": "pir"}
    assert json.loads(V1Codec().encode([motion]))["data"]["location"] == {"room": "kitchen"}
    assert decode({"type": "door", "location": {"room": "entrance"}}).attrs["type"] == "door"
    with pytest.raises(DecodeError) as err:
        decode({"type": "door", "ref_seq": 2})
    assert err.value.reason is RejectReason.SCHEMA
    ledger = EventLedger()
    assert ledger.check(event(3, "motion")) == event(3, "motion")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"type": "earthquake"}, RejectReason.SCHEMA),
        ({}, RejectReason.SCHEMA),
        ({"type": "cancel"}, RejectReason.SCHEMA),  # a cancel names what it cancels
        ({"type": "cancel", "ref_seq": 9}, RejectReason.SCHEMA),  # not itself or later
        ({"type": "sos", "ref_seq": 3}, RejectReason.SCHEMA),
        ({"type": "fall", "confidence": 1.7}, RejectReason.IMPLAUSIBLE),
        ({"type": "sos", "location": {"lat": 95, "lon": 10}}, RejectReason.IMPLAUSIBLE),
        ({"type": "sos", "location": {"lat": 31.2}}, RejectReason.SCHEMA),
        ({"type": "sos", "location": {}}, RejectReason.SCHEMA),
        ({"type": "sos", "location": {"room": ""}}, RejectReason.SCHEMA),
        ({"type": "sos", "component": 7}, RejectReason.SCHEMA),
    ],
)
def test_bad_events_have_reasons(data: dict[str, Any], reason: RejectReason) -> None:
    with pytest.raises(DecodeError) as err:
        decode(data)
    assert err.value.reason is reason


def event(seq: int, etype: str, ts: datetime = T0, **attrs: Any) -> Reading:
    return Reading("t1", "watch-1", Kind.EVENT, seq, ts, ts, "p-1", attrs={"type": etype, **attrs})


def test_ledger_annotates_a_cancel_and_rejects_an_unknown_ref() -> None:
    ledger = EventLedger()
    ledger.check(event(5, "fall"))
    ledger.check(event(6, "help_arrived"))
    cancel = ledger.check(event(7, "cancel", T0 + timedelta(seconds=30), ref_seq=5))
    assert cancel.attrs["ref_type"] == "fall"
    assert cancel.attrs["ref_ts"] == "2026-11-22T08:00:00.000Z"
    for ref in (4, 6):  # never sent; not an sos or a fall
        with pytest.raises(DecodeError) as err:
            ledger.check(event(8, "cancel", ref_seq=ref))
        assert err.value.reason is RejectReason.UNKNOWN_REF


def test_ledger_asks_its_lookup_after_a_restart() -> None:
    asked: list[int] = []

    def lookup(r: Reading, ref_seq: int) -> EventRef | None:
        asked.append(ref_seq)
        return EventRef("sos", T0) if ref_seq == 5 else None

    ledger = EventLedger(lookup=lookup)
    assert ledger.check(event(7, "cancel", ref_seq=5)).attrs["ref_type"] == "sos"
    with pytest.raises(DecodeError):
        ledger.check(event(8, "cancel", ref_seq=6))
    assert asked == [5, 6]


def test_help_arrived_only_for_an_elder_who_called() -> None:
    ledger = EventLedger()
    with pytest.raises(DecodeError) as err:
        ledger.check(event(1, "help_arrived"))  # nobody called
    assert err.value.reason is RejectReason.UNKNOWN_REF
    ledger.check(event(2, "sos"))
    assert ledger.check(event(3, "help_arrived")).attrs["type"] == "help_arrived"
    open_calls = {PatientKey("t2", "p-1")}  # another tenant's "p-1" called
    restarted = EventLedger(calls=lambda key: key in open_calls)  # the open alerts say so
    with pytest.raises(DecodeError):
        restarted.check(event(4, "help_arrived"))
    open_calls.add(PatientKey("t1", "p-1"))
    assert restarted.check(event(4, "help_arrived")).seq == 4
    open_calls.clear()
    with pytest.raises(DecodeError):
        restarted.check(event(5, "help_arrived"))
