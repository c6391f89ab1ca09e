"""Plain-language readings: what was measured, whether it is in the elder's target, in zh-CN or en.

One table of wording per kind, read by the patient summary's narrative and by the results notice
sent to the elder and family, so both say the same thing about the same reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from alerts.targets import Targets
from devices.kinds import Kind
from devices.model import Reading

__all__ = ["LANGS", "Verdict", "describe", "verdict"]

LANGS: Final = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Verdict:
    """`in_target` None: the gateway has no target for this kind (weight)."""

    in_target: bool | None
    high: bool = False


def verdict(r: Reading, t: Targets) -> Verdict:
    v = r.values
    if r.kind is Kind.BP:
        sys_, dia = v.get("systolic", 0.0), v.get("diastolic", 0.0)
        high = sys_ >= t.target_systolic or dia >= t.target_diastolic
        low = sys_ < t.hypotension_systolic
        return Verdict(not (high or low), high)
    if r.kind is Kind.GLUCOSE:
        g = v.get("glucose", 0.0)
        return Verdict(t.glucose_low <= g < t.glucose_high, g >= t.glucose_high)
    if r.kind is Kind.HR:
        hr = v.get("hr", 0.0)
        return Verdict(t.hr_low <= hr <= t.hr_high, hr > t.hr_high)
    if r.kind is Kind.SPO2:
        return Verdict(v.get("spo2", 0.0) >= 94.0)
    return Verdict(None)


_WHAT: Final = {
    Kind.BP: {"en": "Blood pressure {systolic:.0f}/{diastolic:.0f} mmHg",
              "zh-CN": "血压 {systolic:.0f}/{diastolic:.0f} mmHg"},
    Kind.GLUCOSE: {"en": "Blood sugar {glucose:.1f} mmol/L", "zh-CN": "血糖 {glucose:.1f} mmol/L"},
    Kind.HR: {"en": "Heart rate {hr:.0f} beats a minute", "zh-CN": "心率 每分钟 {hr:.0f} 次"},
    Kind.SPO2: {"en": "Blood oxygen {spo2:.0f}%", "zh-CN": "血氧 {spo2:.0f}%"},
    Kind.WEIGHT: {"en": "Weight {weight:.1f} kg", "zh-CN": "体重 {weight:.1f} 公斤"},
}  # fmt: skip
_JUDGED: Final = {
    (True, False): {"en": "within your target", "zh-CN": "在目标范围内"},
    (False, True): {"en": "above your target", "zh-CN": "高于目标"},
    (False, False): {"en": "below your target", "zh-CN": "低于目标"},
}
_ADVICE: Final = {
    Kind.BP: {
        "en": "Take your medicines as prescribed, eat less salt, and measure again this week.",
        "zh-CN": "请按时服药、少吃盐，本周内再测一次血压。",
    },
    Kind.GLUCOSE: {
        "en": "Keep to your meal plan and medicines, and measure again in the coming days.",
        "zh-CN": "请按计划饮食和服药，近几天再测一次血糖。",
    },
    Kind.HR: {"en": "Rest and measure again; tell your family doctor if it stays so.",
              "zh-CN": "请休息后再测；如持续如此，请告诉家庭医生。"},
    Kind.SPO2: {"en": "Rest and measure again; tell your family doctor if it stays so.",
                "zh-CN": "请休息后再测；如持续如此，请告诉家庭医生。"},
}  # fmt: skip


def describe(r: Reading, t: Targets, lang: str) -> tuple[str, Verdict]:
    """One plain sentence about the reading (what, in target or not, what to do) and the verdict.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 1, tzinfo=UTC)
    >>> r = Reading("t", "k", Kind.BP, 1, now, now, "p", {"systolic": 152, "diastolic": 88})
    >>> describe(r, Targets(), "en")[0][:47]
    'Blood pressure 152/88 mmHg: above your target. '
    """
    what = _WHAT[r.kind][lang].format(**{k: r.values.get(k, 0.0) for k in _keys(r.kind)})
    v = verdict(r, t)
    if v.in_target is None:
        return what + ("." if lang == "en" else "。"), v
    judged = (
        _JUDGED[(v.in_target, v.high)][lang] if not v.in_target else _JUDGED[(True, False)][lang]
    )
    sep = ": " if lang == "en" else "，"
    end = "." if lang == "en" else "。"
    text = f"{what}{sep}{judged}{end}"
    if not v.in_target and r.kind in _ADVICE:
        text += (" " if lang == "en" else "") + _ADVICE[r.kind][lang]
    return text, v


def _keys(kind: Kind) -> tuple[str, ...]:
    return {Kind.BP: ("systolic", "diastolic"), Kind.GLUCOSE: ("glucose",), Kind.HR: ("hr",),
            Kind.SPO2: ("spo2",), Kind.WEIGHT: ("weight",)}[kind]  # fmt: skip
