"""Wire timestamps: RFC 3339 with an offset, or integer epoch milliseconds, always to aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from devices.errors import DecodeError, RejectReason

_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: anything earlier is a device with an unset clock
_EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01


def parse_ts(value: object) -> datetime:
    """Parse a wire `ts`; naive strings are rejected (the offset is part of the contract)."""
    if isinstance(value, bool):
        raise DecodeError(RejectReason.TIMESTAMP, "ts must be RFC 3339 or epoch milliseconds")
    if isinstance(value, int):
        if not _EPOCH_MS_MIN <= value <= _EPOCH_MS_MAX:
            raise DecodeError(RejectReason.TIMESTAMP, f"epoch milliseconds {value} out of range")
        return datetime.fromtimestamp(value / 1000.0, UTC)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError as exc:
            raise DecodeError(RejectReason.TIMESTAMP, f"unparseable ts {value!r}") from exc
        if dt.tzinfo is None:
            raise DecodeError(RejectReason.TIMESTAMP, f"ts {value!r} has no UTC offset")
        dt = dt.astimezone(UTC)
        if not 2000 <= dt.year < 2100:
            raise DecodeError(RejectReason.TIMESTAMP, f"ts {value!r} out of range")
        return dt
    raise DecodeError(RejectReason.TIMESTAMP, "ts must be RFC 3339 or epoch milliseconds")


def format_ts(dt: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision and a `Z` suffix."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
