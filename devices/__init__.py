"""Domain model, payload codecs and device registry. Imports no other project package."""

from devices.codecs import CODECS, Codec, decode_payload, to_wire
from devices.errors import DecodeError, RejectReason
from devices.kinds import KINDS, METRICS, Kind, KindSpec, MetricSpec
from devices.model import EcgChunk, PatientKey, Reading, Topic, deadletter_topic, utcnow
from devices.registry import Binding, Device, DeviceRegistry
from devices.timeparse import format_ts, parse_ts

__all__ = [
    "CODECS",
    "KINDS",
    "METRICS",
    "Binding",
    "Codec",
    "DecodeError",
    "Device",
    "DeviceRegistry",
    "EcgChunk",
    "Kind",
    "KindSpec",
    "MetricSpec",
    "PatientKey",
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
