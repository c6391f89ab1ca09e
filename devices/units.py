"""Unit handling: every accepted spelling maps to a conversion into the canonical unit."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Final

from devices.errors import DecodeError, RejectReason
from devices.kinds import MGDL_PER_MMOLL, MMHG_PER_KPA


def _identity(x: float) -> float:
    return x


def _kpa(x: float) -> float:
    return x * MMHG_PER_KPA


def _mgdl(x: float) -> float:
    return x / MGDL_PER_MMOLL


Converter = Callable[[float], float]

# Accepted unit spellings (wire and UCUM) per quantity -> converter into the canonical unit.
PRESSURE: Final = MappingProxyType({"mmHg": _identity, "mm[Hg]": _identity, "kPa": _kpa})
GLUCOSE: Final = MappingProxyType(
    {"mmol/L": _identity, "mmol/l": _identity, "mg/dL": _mgdl, "mg/dl": _mgdl}
)


def converter(table: MappingProxyType[str, Converter], unit: object, quantity: str) -> Converter:
    """The converter for `unit`, or a DecodeError naming the accepted units."""
    if isinstance(unit, str):
        conv = table.get(unit)
        if conv is not None:
            return conv
    raise DecodeError(RejectReason.UNIT, f"{quantity} unit {unit!r} not one of {', '.join(table)}")


def mmol_to_mgdl(x: float) -> float:
    return x * MGDL_PER_MMOLL


def _lb(x: float) -> float:
    return x * 0.45359237


MASS: Final = MappingProxyType({"kg": _identity, "[lb_av]": _lb, "lb": _lb})
