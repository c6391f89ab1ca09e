"""The patient summary: a FHIR `document` Bundle shaped after the International Patient Summary.

A Composition (LOINC 60591-5 "Patient summary Document") first, then every resource it names.
Sections, each with a generated narrative in the requested language (zh-CN or en):
problems (11450-4, what the tenant recorded), medications (10160-0), allergies (48765-2) — the
three IPS requires, with an empty reason when nothing is recorded — then vital signs (8716-3: the
latest blood pressure, heart rate, SpO2 and weight), results (30954-2: the latest glucose) and
alerts (104605-1: the open alerts as Flags). Identifiers are stable per patient and day, so the
same day's summary pushed twice is one document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from alerts.targets import Targets
from devices.kinds import Kind
from devices.model import Reading
from devices.timeparse import format_ts
from gateway.fhir import resources as res
from gateway.fhir.plain import describe
from gateway.fhir.record import PatientRecord, entry, observation

__all__ = ["SECTIONS", "summary_document"]

LOINC: Final = "http://loinc.org"
_TITLE: Final = {"en": "Patient summary", "zh-CN": "患者健康摘要"}
# key -> (LOINC code, display, {lang: title})
SECTIONS: Final = {
    "problems": ("11450-4", "Problem list - Reported", {"en": "Problems", "zh-CN": "健康问题"}),
    "medications": ("10160-0", "History of Medication use Narrative",
                    {"en": "Medications", "zh-CN": "用药"}),
    "allergies": ("48765-2", "Allergies and adverse reactions Document",
                  {"en": "Allergies", "zh-CN": "过敏"}),
    "vitals": ("8716-3", "Vital signs", {"en": "Vital signs", "zh-CN": "生命体征"}),
    "results": ("30954-2", "Relevant diagnostic tests/laboratory data Narrative",
                {"en": "Results", "zh-CN": "检查结果"}),
    "alerts": ("104605-1", "Alert", {"en": "Alerts", "zh-CN": "警示"}),
}  # fmt: skip
_NONE: Final = {"en": "None recorded.", "zh-CN": "无记录。"}
_EMPTY_REASON: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
            "code": "unavailable",
            "display": "Unavailable",
        }
    ]
}
VITAL_KINDS: Final = (Kind.BP, Kind.HR, Kind.SPO2, Kind.WEIGHT)
RESULT_KINDS: Final = (Kind.GLUCOSE,)


def _latest(readings: tuple[Reading, ...], kinds: tuple[Kind, ...]) -> list[Reading]:
    last: dict[Kind, Reading] = {}
    for r in readings:  # in time order
        if r.kind in kinds:
            last[r.kind] = r
    return [last[k] for k in kinds if k in last]


def _section(
    key: str, lang: str, resources: list[dict[str, Any]], lines: list[str]
) -> dict[str, Any]:
    code, display, titles = SECTIONS[key]
    out: dict[str, Any] = {
        "title": titles[lang],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "text": res.narrative(lines or [_NONE[lang]]),
    }
    if resources:
        out["entry"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources]
    else:
        out["emptyReason"] = _EMPTY_REASON
    return out


def _reading_lines(readings: list[Reading], targets: Targets, lang: str) -> list[str]:
    return [
        f"{format_ts(r.ts)[:16].replace('T', ' ')} {describe(r, targets, lang)[0]}"
        for r in readings
    ]


def summary_document(
    rec: PatientRecord, targets: Targets, lang: str, base: str, now: datetime
) -> dict[str, Any]:
    """The summary document of `rec` in `lang` ("zh-CN" or "en") as of `now`."""
    if lang not in _TITLE:
        raise ValueError(f"language must be one of {sorted(_TITLE)}")
    p = rec.patient
    pat = res.patient(p)
    problems, meds, allergies = res.conditions(p), res.medications(p), res.allergies(p)
    vitals = _latest(rec.readings, VITAL_KINDS)
    results = _latest(rec.readings, RESULT_KINDS)
    open_alerts = [a for a in rec.alerts if a.active]
    flags = [res.flag(a, lang) for a in open_alerts]
    vital_obs = [observation(r) for r in vitals]
    result_obs = [observation(r) for r in results]
    day = now.date().isoformat()
    key = f"{p.tenant}/{p.patient_id}/summary/{day}/{lang}"
    sections = [
        _section("problems", lang, problems, [c["code"]["text"] for c in problems]),
        _section("medications", lang, meds, [m["medicationCodeableConcept"]["text"] for m in meds]),
        _section("allergies", lang, allergies, [a["code"]["text"] for a in allergies]),
        _section("vitals", lang, vital_obs, _reading_lines(vitals, targets, lang)),
        _section("results", lang, result_obs, _reading_lines(results, targets, lang)),
        _section("alerts", lang, flags, [f["code"]["text"] for f in flags]),
    ]
    composition = {
        "resourceType": "Composition",
        "id": res.fhir_id(f"composition/{key}"),
        "identifier": {"system": f"urn:hmg:{p.tenant}:summary", "value": key},
        "language": lang,
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5",
                             "display": "Patient summary Document"}]},
        "subject": {"reference": f"Patient/{pat['id']}"},
        "date": format_ts(now),
        "author": [{"display": f"hmg gateway ({p.tenant})"}],
        "title": _TITLE[lang],
        "section": sections,
    }  # fmt: skip
    members = [composition, pat, *problems, *meds, *allergies, *vital_obs, *result_obs, *flags]
    return {
        "resourceType": "Bundle",
        "id": res.fhir_id(f"document/{key}"),
        "language": lang,
        "identifier": {"system": f"urn:hmg:{p.tenant}:summary-document", "value": key},
        "type": "document",
        "timestamp": format_ts(now),
        "entry": [entry(base, r) for r in members],
    }
