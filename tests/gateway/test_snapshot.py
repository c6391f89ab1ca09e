"""Snapshots round-trip, refuse forgeries, and discard other versions without failing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from gateway.snapshot import VERSION, SnapshotError, seal, unseal

KEY = b"k" * 32
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)


def test_round_trip() -> None:
    blob = seal({"p-1": [1, 2, 3]}, partition=7, seq=42, key=KEY, now=NOW)
    snap = unseal(blob, KEY)
    assert snap is not None
    assert (snap.partition, snap.seq, snap.created_at, snap.state) == (
        7,
        42,
        NOW,
        {"p-1": [1, 2, 3]},
    )


def test_forged_body_is_refused() -> None:
    blob = seal({"a": 1}, 1, 1, KEY, NOW)
    head, _, body = blob.partition(b"\n")
    forged = head + b"\n" + body.replace(b"K\x01", b"K\x02")  # {"a": 2}
    with pytest.raises(SnapshotError, match="signature"):
        unseal(forged, KEY)
    with pytest.raises(SnapshotError, match="signature"):
        unseal(blob, b"other key")


def test_garbage_is_refused() -> None:
    with pytest.raises(SnapshotError):
        unseal(b"not json\nbody", KEY)
    with pytest.raises(SnapshotError):
        unseal(
            b'{"format": "x", "version": 1, "partition": 1, "seq": 1, '
            b'"created_at": "2026-11-29T08:00:00+00:00", "hmac": ""}\n',
            KEY,
        )


def test_other_version_is_discarded_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    blob = seal({"a": 1}, 3, 9, KEY, NOW)
    with caplog.at_level(logging.WARNING):
        assert unseal(blob, KEY, version=VERSION + 1) is None
    assert "warm up again" in caplog.text
