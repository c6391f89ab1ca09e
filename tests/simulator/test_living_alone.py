"""The living-alone cohort: deterministic, every send decodable, the silent home silent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from devices.codecs import V1Codec, decode_payload
from devices.kinds import Kind
from simulator.living_alone import away_window, cohort, sends

START = datetime(2026, 1, 5, tzinfo=UTC)


def test_same_seed_same_life_and_a_mix_of_devices() -> None:
    elders = cohort(40, 7)
    assert elders == cohort(40, 7)
    assert {e.devices for e in elders} == {"motion kit", "watch", "readings only"}
    e = elders[0]
    assert list(sends(e, START, 5, 7)) == list(sends(e, START, 5, 7))


def test_the_kit_adds_sends_without_changing_the_readings() -> None:
    """The cuff, meter and watch readings are the same draws with or without the home kit."""
    e = replace(cohort(10, 3)[0], watch=True, motion=False, kiosk=False)
    kit = replace(e, motion=True, kiosk=True)

    def readings(x: object) -> list[tuple[datetime, Kind]]:
        return [(r.ts, r.kind) for r in sends(x, START, 10, 3) if r.kind in (Kind.BP, Kind.HR)  # type: ignore[arg-type]
                and not r.device_id.startswith("kiosk")]  # fmt: skip

    assert readings(e) == readings(kit)
    events = [r for r in sends(kit, START, 10, 3) if r.kind is Kind.EVENT]
    assert {r.attrs["type"] for r in events} == {"motion", "door"}
    assert len(events) > 10 * 50  # a report every few minutes while up and about


def test_every_send_decodes_and_time_runs_forward() -> None:
    e = replace(cohort(5, 2)[1], watch=True, motion=True, kiosk=True)
    out = list(sends(e, START, 4, 2))
    assert [r.ts for r in out] == sorted(r.ts for r in out)
    codec = V1Codec()
    for r in out:
        topic = f"hm/v1/{r.tenant}/{r.device_id}/{r.kind}"
        [back] = decode_payload(topic, codec.encode([r]), r.ts)
        assert (back.kind, back.attrs.get("type")) == (r.kind, r.attrs.get("type"))
        assert abs(back.ts - r.ts) < timedelta(milliseconds=1)  # the wire carries milliseconds


def test_a_silent_home_keeps_only_the_devices_heartbeats() -> None:
    e = replace(cohort(5, 2)[1], watch=True, motion=True)
    onset = START + timedelta(days=3, hours=3)
    after = [r for r in sends(e, START, 5, 2, silent_from=onset) if r.ts >= onset]
    assert after  # the hub and the watch still report their status
    assert all(r.kind is Kind.STATUS and "lead_off" not in r.attrs for r in after)


def test_nights_away_are_the_generators_own() -> None:
    found = [w for e in cohort(40, 5) if (w := away_window(e, START, 30, 5)) is not None]
    assert found
    for a, b in found:
        assert timedelta(hours=24) <= b - a <= timedelta(hours=36)
