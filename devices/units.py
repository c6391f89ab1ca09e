"""Unit handling: every accepted spelling maps to a conversion into the canonical unit.

The tables here are referenced by the metric specs in `devices.kinds` (`MetricSpec.units`); codecs
look a metric's converter up there, never here directly.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Final

from devices.errors import DecodeError, RejectReason

# Conversion factors into canonical units, applied once at decode.
MMHG_PER_KPA: Final = 7.50062
# Glucose molar mass 180.16 g/mol: 1 mmol/L = 18.016 mg/dL.
MGDL_PER_MMOLL: Final = 18.016
KG_PER_LB: Final = 0.45359237


def _identity(x: float) -> float:
    return x


def _kpa(x: float) -> float:
    return x * MMHG_PER_KPA


def _mgdl(x: float) -> float:
    return x / MGDL_PER_MMOLL


def _lb(x: float) -> float:
    return x * KG_PER_LB


Converter = Callable[[float], float]
Units = MappingProxyType[str, Converter]


def _same(*spellings: str) -> Units:
    return MappingProxyType(dict.fromkeys(spellings, _identity))


# Accepted unit spellings (wire and UCUM) per quantity -> converter into the canonical unit.
PRESSURE: Final = MappingProxyType({"mmHg": _identity, "mm[Hg]": _identity, "kPa": _kpa})
GLUCOSE: Final = MappingProxyType(
    {"mmol/L": _identity, "mmol/l": _identity, "mg/dL": _mgdl, "mg/dl": _mgdl}
)
MASS: Final = MappingProxyType({"kg": _identity, "[lb_av]": _lb, "lb": _lb})
RATE: Final = _same("/min", "{beats}/min", "{Beats}/min", "beats/minute")
PERCENT: Final = _same("%")
FRACTION: Final = _same("1")
POWER_DBM: Final = _same("dB[mW]", "dBm")
LENGTH_M: Final = _same("m")
ANGLE_DEG: Final = _same("deg")


def converter(table: Units, unit: object, quantity: str) -> Converter:
    """The converter for `unit`, or a DecodeError naming the accepted units."""
    if isinstance(unit, str):
        conv = table.get(unit)
        if conv is not None:
            return conv
    raise DecodeError(RejectReason.UNIT, f"{quantity} unit {unit!r} not one of {', '.join(table)}")


def mmol_to_mgdl(x: float) -> float:
    return x * MGDL_PER_MMOLL
