"""The codec contract and the JSON front door shared by every JSON codec."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from devices.errors import DecodeError, RejectReason
from devices.model import Reading, Topic

MAX_PAYLOAD_BYTES = 512 * 1024


class Codec(Protocol):
    """Turns one MQTT payload into readings, and readings back into a payload.

    `accepts` looks at the parsed JSON document only (cheap key checks); the first registered codec
    that accepts a document decodes it. `decode` raises `DecodeError` for anything it cannot take.
    """

    name: str

    def accepts(self, doc: Any) -> bool: ...

    def decode(self, topic: Topic, doc: Any, received_at: datetime) -> list[Reading]: ...

    def encode(self, readings: Sequence[Reading]) -> bytes: ...


def parse_json(payload: bytes, limit: int = MAX_PAYLOAD_BYTES) -> Any:
    """Bytes to a JSON document, or a typed error (size first: never parse an oversized payload)."""
    if len(payload) > limit:
        raise DecodeError(RejectReason.TOO_LARGE, f"{len(payload)} bytes > limit {limit}")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DecodeError(RejectReason.MALFORMED, f"not UTF-8 JSON: {exc}") from exc


def require(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    """A present field of the given JSON type (bools are not numbers)."""
    value = obj.get(key)
    if value is None:
        raise DecodeError(RejectReason.SCHEMA, f"{where}: missing {key!r}")
    if isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,)):
        raise DecodeError(RejectReason.SCHEMA, f"{where}: {key!r} has the wrong type")
    if not isinstance(value, typ):
        raise DecodeError(RejectReason.SCHEMA, f"{where}: {key!r} has the wrong type")
    return value


def number(obj: dict[str, Any], key: str, where: str) -> float:
    value = require(obj, key, (int, float), where)
    f = float(value)
    if not math.isfinite(f):
        raise DecodeError(RejectReason.SCHEMA, f"{where}: {key!r} is not finite")
    return f
