"""The coded findings a cardiologist picks from, by group, mapped to SNOMED CT where a code exists.

One table (declarative, like the alert codes): code, group, English and Chinese text, and the
SNOMED CT concept id (None: no concept fits; the finding is exported as text only).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

SNOMED_SYSTEM: Final = "http://snomed.info/sct"
FINDING_SYSTEM: Final = "urn:hmg:ecg-finding"


class Group(enum.StrEnum):
    RHYTHM = "rhythm"
    RATE = "rate"
    CONDUCTION = "conduction"
    ECTOPY = "ectopy"
    ST_T = "st_t"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    group: Group
    en: str
    zh: str
    snomed: str | None = None
    critical: bool = False  # suggests a critical result (read-back)


_R, _RA, _C, _E, _S, _O = (
    Group.RHYTHM,
    Group.RATE,
    Group.CONDUCTION,
    Group.ECTOPY,
    Group.ST_T,
    Group.OTHER,
)

_LIST: Final = (
    Finding("sinus_rhythm", _R, "Sinus rhythm", "窦性心律", "426783006"),
    Finding("atrial_fibrillation", _R, "Atrial fibrillation", "心房颤动", "49436004"),
    Finding("atrial_flutter", _R, "Atrial flutter", "心房扑动", "5370000"),
    Finding("ventricular_tachycardia", _R, "Ventricular tachycardia", "室性心动过速",
            "25569003", critical=True),
    Finding("sinus_arrest", _R, "Sinus pause / arrest", "窦性停搏", "5609005", critical=True),
    Finding("paced_rhythm", _R, "Paced rhythm", "起搏心律", "10370003"),
    Finding("sinus_bradycardia", _RA, "Sinus bradycardia", "窦性心动过缓", "426627000"),
    Finding("sinus_tachycardia", _RA, "Sinus tachycardia", "窦性心动过速", "11092001"),
    Finding("av_block_1", _C, "First-degree AV block", "一度房室传导阻滞", "270492004"),
    Finding("av_block_2", _C, "Second-degree AV block", "二度房室传导阻滞", "195042002",
            critical=True),
    Finding("av_block_3", _C, "Complete AV block", "三度房室传导阻滞", "27885002", critical=True),
    Finding("lbbb", _C, "Left bundle branch block", "左束支传导阻滞", "164909002"),
    Finding("rbbb", _C, "Right bundle branch block", "右束支传导阻滞", "59118001"),
    Finding("long_qt", _C, "Prolonged QT interval", "QT间期延长", "111975006"),
    Finding("pvc", _E, "Premature ventricular contractions", "室性早搏", "427172004"),
    Finding("pac", _E, "Premature atrial contractions", "房性早搏", "284470004"),
    Finding("st_elevation", _S, "ST elevation", "ST段抬高", "164931005", critical=True),
    Finding("st_depression", _S, "ST depression", "ST段压低", "26141007"),
    Finding("t_inversion", _S, "T-wave inversion", "T波倒置", "59931005"),
    Finding("normal_ecg", _O, "Normal ECG", "正常心电图", "164854000"),
    Finding("poor_quality", _O, "Poor quality / artefact, repeat", "信号质量差，请复查"),
)  # fmt: skip

FINDINGS: Final = MappingProxyType({f.code: f for f in _LIST})


def finding(code: str) -> Finding:
    try:
        return FINDINGS[code]
    except KeyError:
        raise ValueError(f"unknown finding {code!r}") from None
