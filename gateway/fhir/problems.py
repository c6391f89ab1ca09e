"""The conditions a tenant records about an elder, read from the profile's free text.

The care team writes conditions as free text (`Profile.conditions`, e.g. "高血压, 2型糖尿病"). A
known condition is recognised by keywords in English or Chinese and given its SNOMED CT code, so
the patient summary's problem list is coded where it can be and follow-up rules know whom they
apply to; anything else stays a text-only problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["KNOWN", "SNOMED", "KnownCondition", "Problem", "problems_of"]

SNOMED: Final = "http://snomed.info/sct"


@dataclass(frozen=True, slots=True)
class KnownCondition:
    """A condition the gateway recognises: `key` names it in follow-up rules."""

    key: str
    snomed: str
    display: str
    keywords: tuple[str, ...]


KNOWN: Final = (
    KnownCondition(
        "hypertension", "38341003", "Hypertensive disorder",
        ("hypertension", "high blood pressure", "高血压"),
    ),
    KnownCondition(
        "type2_diabetes", "44054006", "Diabetes mellitus type 2",
        ("type 2 diabetes", "t2dm", "type ii diabetes", "2型糖尿病", "二型糖尿病", "糖尿病",
         "diabetes"),
    ),
    KnownCondition(
        "atrial_fibrillation", "49436004", "Atrial fibrillation",
        ("atrial fibrillation", "房颤", "心房颤动"),
    ),
    KnownCondition(
        "heart_failure", "84114007", "Heart failure", ("heart failure", "心力衰竭", "心衰")
    ),
    KnownCondition(
        "coronary_heart_disease", "53741008", "Coronary arteriosclerosis",
        ("coronary", "冠心病"),
    ),
)  # fmt: skip

_SPLIT = re.compile(r"[,;，；、\n]+")


@dataclass(frozen=True, slots=True)
class Problem:
    """One recorded condition: the care team's words and, if recognised, the known condition."""

    text: str
    known: KnownCondition | None = None


def _match(text: str) -> KnownCondition | None:
    low = text.lower()
    for cond in KNOWN:
        if any(k in low for k in cond.keywords):
            return cond
    return None


def problems_of(conditions: str | None) -> list[Problem]:
    """The problems in a profile's conditions text, in the order written, each once.

    >>> [(p.text, p.known.key if p.known else None) for p in problems_of("高血压，2型糖尿病; gout")]
    [('高血压', 'hypertension'), ('2型糖尿病', 'type2_diabetes'), ('gout', None)]
    """
    out: list[Problem] = []
    seen: set[str] = set()
    for part in _SPLIT.split(conditions or ""):
        text = part.strip()
        if text and text not in seen:
            seen.add(text)
            out.append(Problem(text, _match(text)))
    return out
