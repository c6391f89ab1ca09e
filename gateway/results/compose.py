"""A results notice in plain words, zh-CN and English (pure): what was measured, whether each
result is in the elder's target, what to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from alerts.targets import Targets
from devices.model import Reading
from devices.timeparse import format_ts
from gateway.fhir.plain import LANGS, describe

__all__ = ["averages", "compose"]

_TITLE: Final = {
    "kiosk": {"en": "Your health check results ({day})", "zh-CN": "您的健康检查结果（{day}）"},
    "home": {
        "en": "Your home measurements (week of {day})",
        "zh-CN": "您的居家测量结果（{day} 起一周）",
    },
}
_INTRO: Final = {
    "kiosk": {"en": "At the health kiosk we measured:", "zh-CN": "您在社区健康小屋测量了："},
    "home": {
        "en": "The averages of your home measurements this week:",
        "zh-CN": "您本周居家测量的平均值：",
    },
}
_ALL_GOOD: Final = {
    "en": "Everything is within your targets. Keep it up, and come again in three months.",
    "zh-CN": "各项结果都在目标范围内。请继续保持，三个月后再来测量。",
}
_SOME_OUT: Final = {
    "en": "Your family doctor will see these results. If you feel unwell, call your family "
    "doctor; in an emergency call 120.",
    "zh-CN": "家庭医生会看到这些结果。如有不适，请联系家庭医生；紧急情况请拨打 120。",
}


def compose(
    readings: Sequence[Reading], targets: Targets, source: str = "kiosk"
) -> dict[str, dict[str, str]]:
    """language -> {"title", "body"} for the readings of one visit (at least one).

    >>> from datetime import UTC, datetime
    >>> from devices.kinds import Kind
    >>> t = datetime(2026, 11, 22, 8, tzinfo=UTC)
    >>> r = Reading("t", "kiosk-1", Kind.BP, 8, t, t, "p", {"systolic": 128, "diastolic": 78})
    >>> compose([r], Targets())["en"]["body"].splitlines()[1]
    '- Blood pressure 128/78 mmHg: within your target.'
    """
    if not readings:
        raise ValueError("a notice needs at least one reading")
    day = format_ts(min(r.ts for r in readings))[:10]
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        lines = [_INTRO[source][lang]]
        ok = True
        for r in sorted(readings, key=lambda r: (r.kind.value, r.ts)):
            text, verdict = describe(r, targets, lang)
            ok = ok and verdict.in_target is not False
            lines.append(f"- {text}")
        lines.append(_ALL_GOOD[lang] if ok else _SOME_OUT[lang])
        out[lang] = {"title": _TITLE[source][lang].format(day=day), "body": "\n".join(lines)}
    return out


def averages(readings: Sequence[Reading]) -> list[Reading]:
    """One reading per kind whose values are the means of the series (at the last one's time),
    for a home measurement series.

    >>> from datetime import UTC, datetime
    >>> from devices.kinds import Kind
    >>> t = datetime(2026, 11, 22, 8, tzinfo=UTC)
    >>> rs = [Reading("t", "c", Kind.BP, i, t, t, "p", {"systolic": s, "diastolic": 80})
    ...       for i, s in enumerate((130, 150))]
    >>> averages(rs)[0].values["systolic"]
    140.0
    """
    by_kind: dict[object, list[Reading]] = {}
    for r in readings:
        by_kind.setdefault(r.kind, []).append(r)
    out = []
    for rs in by_kind.values():
        rs.sort(key=lambda r: r.ts)
        keys = set.intersection(*(set(r.values) for r in rs))
        means = {k: sum(r.values[k] for r in rs) / len(rs) for k in sorted(keys)}
        out.append(replace(rs[-1], values=means))
    return out
