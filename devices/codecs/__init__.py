"""Payload codecs, registered in one explicit list; `decode_payload` is the single front door."""

from __future__ import annotations

from datetime import datetime

from devices.codecs.base import MAX_PAYLOAD_BYTES, Codec, parse_json
from devices.codecs.fhir import FhirCodec, bundle, to_fhir
from devices.codecs.kiosk import KioskCodec
from devices.codecs.v1 import V1Codec, to_wire
from devices.errors import DecodeError, RejectReason
from devices.model import Reading, Topic

# Order matters: the first codec that accepts a document decodes it (v1, the bulk of traffic,
# first). Each `accepts` is a cheap key check on the parsed document.
CODECS: tuple[Codec, ...] = (V1Codec(), FhirCodec(), KioskCodec())


def codec_for(doc: object) -> Codec:
    for codec in CODECS:
        if codec.accepts(doc):
            return codec
    raise DecodeError(RejectReason.SCHEMA, "no codec accepts this payload (unknown schema)")


def decode_payload(
    topic: str | Topic, payload: bytes, received_at: datetime, limit: int = MAX_PAYLOAD_BYTES
) -> list[Reading]:
    """Decode one MQTT message into readings or raise `DecodeError` (never anything else)."""
    parsed = topic if isinstance(topic, Topic) else Topic.parse(topic)
    doc = parse_json(payload, limit)
    return codec_for(doc).decode(parsed, doc, received_at)


__all__ = [
    "CODECS",
    "Codec",
    "FhirCodec",
    "KioskCodec",
    "V1Codec",
    "bundle",
    "codec_for",
    "decode_payload",
    "to_fhir",
    "to_wire",
]
