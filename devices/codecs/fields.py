"""Field decoders shared by the JSON codecs: one definition of each kind's data object.

The v1 reading and the kiosk visit carry the same BP and glucose objects; both decode them here,
against the units and vocabularies of `devices.kinds`.
"""

from __future__ import annotations

from typing import Any

from devices.codecs.base import number
from devices.errors import DecodeError, RejectReason
from devices.kinds import KINDS, METRICS, Kind
from devices.model import AttrValue
from devices.units import converter

Values = dict[str, float]
Attrs = dict[str, AttrValue]


def quantity(data: dict[str, Any], key: str, metric: str, unit: object, where: str) -> float:
    """`data[key]` in `unit`, converted into the metric's canonical unit."""
    spec = METRICS[metric]
    return converter(spec.units, unit, where)(number(data, key, where))


def choice(data: dict[str, Any], kind: Kind, attr: str, default: str | None = None) -> str | None:
    """An optional string attribute from the kind's closed vocabulary."""
    value = data.get(attr, default)
    if value is None:
        return None
    allowed = KINDS[kind].vocab[attr]
    if not isinstance(value, str) or value not in allowed:
        raise DecodeError(RejectReason.SCHEMA, f"{kind.value}: unknown {attr} {value!r}")
    return value


def bp(data: dict[str, Any]) -> Values:
    """Systolic, diastolic (mmHg or kPa, default mmHg) and optional pulse."""
    unit = data.get("unit", "mmHg")
    values = {
        "systolic": quantity(data, "systolic", "systolic", unit, "bp"),
        "diastolic": quantity(data, "diastolic", "diastolic", unit, "bp"),
    }
    if data.get("pulse") is not None:
        values["pulse"] = number(data, "pulse", "bp")
    return values


def glucose(
    data: dict[str, Any], unit_default: str | None, source: str | None = None
) -> tuple[Values, Attrs]:
    """A glucose value with its `source` (fixed by the format, or the payload's with fingerstick
    as default) and optional `context` attributes."""
    value = quantity(data, "value", "glucose", data.get("unit", unit_default), "glucose")
    attrs: Attrs = {}
    src = source or choice(data, Kind.GLUCOSE, "source", "fingerstick")
    if src is not None:
        attrs["source"] = src
    context = choice(data, Kind.GLUCOSE, "context")
    if context is not None:
        attrs["context"] = context
    return {"glucose": value}, attrs


MAX_LABEL = 64  # room names, component names


def _label(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LABEL:
        raise DecodeError(RejectReason.SCHEMA, f"{where}: {key!r} must be a string of 1..64")
    return value


def event(data: dict[str, Any], seq: int) -> tuple[Values, Attrs]:
    """An emergency event: `type`, optional `confidence`, `location` and `component`; a cancel
    names the event it cancels in `ref_seq` (an earlier seq of the same device)."""
    attrs: Attrs = {}
    etype = choice(data, Kind.EVENT, "type")
    if etype is None:
        raise DecodeError(RejectReason.SCHEMA, "event: missing 'type'")
    attrs["type"] = etype
    values: Values = {}
    if data.get("confidence") is not None:
        values["confidence"] = number(data, "confidence", "event")
    location = data.get("location")
    if location is not None:
        if not isinstance(location, dict):
            raise DecodeError(RejectReason.SCHEMA, "event: location must be an object")
        if location.get("lat") is not None or location.get("lon") is not None:
            values["lat"] = number(location, "lat", "event.location")
            values["lon"] = number(location, "lon", "event.location")
            if location.get("accuracy_m") is not None:
                values["accuracy_m"] = number(location, "accuracy_m", "event.location")
        room = _label(location, "room", "event.location")
        if room is not None:
            attrs["room"] = room
        if "lat" not in values and room is None:
            raise DecodeError(RejectReason.SCHEMA, "event: location needs lat/lon or room")
    component = _label(data, "component", "event")
    if component is not None:
        attrs["component"] = component
    ref = data.get("ref_seq")
    if etype == "cancel":
        if type(ref) is not int or not 0 <= ref < seq:
            raise DecodeError(
                RejectReason.SCHEMA, "event: a cancel needs ref_seq, an earlier seq of the device"
            )
        attrs["ref_seq"] = ref
    elif ref is not None:
        raise DecodeError(RejectReason.SCHEMA, f"event: ref_seq belongs to a cancel, not {etype}")
    return values, attrs
