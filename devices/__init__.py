"""Domain model, payload codecs and device registry. Imports no other project package."""

from devices.codecs import CODECS, Codec, decode_payload, to_wire
from devices.errors import DecodeError, RejectReason
from devices.kinds import METRICS, PANEL_LOINC, Kind, MetricSpec
from devices.model import EcgChunk, Reading, Topic, deadletter_topic, utcnow
from devices.registry import Binding, Device, DeviceRegistry
from devices.timeparse import format_ts, parse_ts

__all__ = [
    "CODECS",
    "METRICS",
    "PANEL_LOINC",
    "Binding",
    "Codec",
    "DecodeError",
    "Device",
    "DeviceRegistry",
    "EcgChunk",
    "Kind",
    "MetricSpec",
    "Reading",
    "RejectReason",
    "Topic",
    "deadletter_topic",
    "decode_payload",
    "format_ts",
    "parse_ts",
    "to_wire",
    "utcnow",
]
