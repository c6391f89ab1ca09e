"""FHIR R4 resources of an elder's record, built from the gateway's domain values (pure).

Observations come from `devices.codecs.fhir.to_fhir` (the same mapping devices can send in);
referrals from `alerts.referral.to_fhir`. Here: the Patient, the devices that measure them, alerts
as `Flag`s, the family-doctor team as a `CareTeam`, and the problems, medications and allergies the
tenant recorded (free text, coded where a known condition is recognised), and the elder's consent
to share the record with the regional platform as a `Consent`. Every resource carries
a business identifier (`urn:hmg:...`) and a logical id derived from it, so the same fact always
has the same id: pushing it again updates it, never duplicates it.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from typing import Any, Final

from alerts.model import Alert, Priority
from alerts.roster import CareTeam, Member
from devices.registry import Device
from devices.timeparse import format_ts
from gateway.fhir.problems import SNOMED, problems_of
from gateway.storage.consents import Consent
from gateway.storage.patients import Patient

__all__ = [
    "allergies",
    "care_team",
    "conditions",
    "consent",
    "device",
    "fhir_id",
    "flag",
    "medications",
    "narrative",
    "patient",
    "ref",
]

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_NS: Final = uuid.UUID("6b1f3c8e-7d0a-4f3b-9c59-2f1f0e4d6a11")
FLAG_PRIORITY: Final = "http://hl7.org/fhir/StructureDefinition/flag-priority"
_FLAG_PRIORITY_CODES: Final = {Priority.HIGH: "PH", Priority.MEDIUM: "PM", Priority.LOW: "PL"}


def fhir_id(key: str) -> str:
    """`key` itself when it is a valid FHIR id, else a UUIDv5 of it (stable across runs).

    >>> fhir_id("p-001"), fhir_id("t1/p 1") == fhir_id("t1/p 1"), len(fhir_id("t1/p 1"))
    ('p-001', True, 36)
    """
    return key if _ID.match(key) else str(uuid.uuid5(_NS, key))


def ref(resource_type: str, key: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{fhir_id(key)}"}


def narrative(lines: Sequence[str]) -> dict[str, str]:
    """Generated XHTML narrative, one paragraph per line (escaped)."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines) or "<p>-</p>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _ident(system: str, value: str) -> list[dict[str, str]]:
    return [{"system": system, "value": value}]


def patient(p: Patient) -> dict[str, Any]:
    """The elder (name, sex, birth year, address as recorded; identifier per tenant)."""
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id(p.patient_id),
        "identifier": _ident(f"urn:hmg:{p.tenant}:patient", p.patient_id),
        "active": True,
    }
    if p.name:
        out["name"] = [{"text": p.name}]
    if p.profile.sex:
        out["gender"] = p.profile.sex
    if p.birth_year:
        out["birthDate"] = f"{p.birth_year:04d}"
    if p.profile.address:
        out["address"] = [{"text": p.profile.address}]
    return out


def device(d: Device, patient_id: str) -> dict[str, Any]:
    """A device that measures the elder (kiosks are shared: no patient link)."""
    out: dict[str, Any] = {
        "resourceType": "Device",
        "id": fhir_id(d.device_id),
        "identifier": _ident(f"urn:hmg:{d.tenant}:device", d.device_id),
        "status": "inactive" if d.retired_at is not None else "active",
        "type": {"text": f"{'kiosk ' if d.kiosk else ''}{d.kind}"},
    }
    if not d.kiosk:
        out["patient"] = ref("Patient", patient_id)
    return out


def flag(a: Alert, lang: str = "en") -> dict[str, Any]:
    """An alert as a Flag (clinical or technical), its priority in the flag-priority extension."""
    period: dict[str, str] = {"start": format_ts(a.opened_at)}
    if a.resolved_at is not None:
        period["end"] = format_ts(a.resolved_at)
    text = a.message.get(lang) or a.message.get("en") or a.code
    return {
        "resourceType": "Flag",
        "id": fhir_id(a.alert_id),
        "identifier": _ident(f"urn:hmg:{a.tenant}:alert", a.alert_id),
        "extension": [
            {
                "url": FLAG_PRIORITY,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/flag-priority-code",
                            "code": _FLAG_PRIORITY_CODES[a.priority],
                        }
                    ]
                },
            }
        ],
        "status": "active" if a.active else "inactive",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "admin" if a.technical else "clinical",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "urn:hmg:alert-code", "code": a.code}], "text": text},
        "subject": ref("Patient", a.patient_id),
        "period": period,
    }


def care_team(team: CareTeam, members: Sequence[Member], patient_id: str) -> dict[str, Any]:
    """The elder's signed family-doctor team and its members (by name and role)."""
    return {
        "resourceType": "CareTeam",
        "id": fhir_id(f"{team.team_id}.{patient_id}"),
        "identifier": _ident(f"urn:hmg:{team.tenant}:care-team", team.team_id),
        "status": "active",
        "name": team.name,
        "subject": ref("Patient", patient_id),
        "participant": [
            {"role": [{"text": m.role}], "member": {"display": m.name}} for m in members
        ],
    }


def _active(system: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": "active"}]}


def conditions(p: Patient) -> list[dict[str, Any]]:
    """The recorded problems as problem-list Conditions (SNOMED CT where recognised)."""
    out = []
    for i, prob in enumerate(problems_of(p.profile.conditions)):
        code: dict[str, Any] = {"text": prob.text}
        if prob.known is not None:
            code["coding"] = [
                {"system": SNOMED, "code": prob.known.snomed, "display": prob.known.display}
            ]
        key = prob.known.key if prob.known is not None else str(i)
        out.append(
            {
                "resourceType": "Condition",
                "id": fhir_id(f"{p.tenant}/{p.patient_id}/condition/{key}"),
                "identifier": _ident(f"urn:hmg:{p.tenant}:condition", f"{p.patient_id}/{key}"),
                "clinicalStatus": _active(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical"
                ),
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "problem-list-item",
                            }
                        ]
                    }
                ],
                "code": code,
                "subject": ref("Patient", p.patient_id),
            }
        )
    return out


def _items(text: str | None) -> list[str]:
    return [x.text for x in problems_of(text)]


def medications(p: Patient) -> list[dict[str, Any]]:
    """The recorded medications as MedicationStatements (text only)."""
    return [
        {
            "resourceType": "MedicationStatement",
            "id": fhir_id(f"{p.tenant}/{p.patient_id}/medication/{i}"),
            "identifier": _ident(f"urn:hmg:{p.tenant}:medication", f"{p.patient_id}/{i}"),
            "status": "active",
            "medicationCodeableConcept": {"text": text},
            "subject": ref("Patient", p.patient_id),
        }
        for i, text in enumerate(_items(p.profile.medications))
    ]


def allergies(p: Patient) -> list[dict[str, Any]]:
    """The recorded allergies as AllergyIntolerances (text only)."""
    return [
        {
            "resourceType": "AllergyIntolerance",
            "id": fhir_id(f"{p.tenant}/{p.patient_id}/allergy/{i}"),
            "identifier": _ident(f"urn:hmg:{p.tenant}:allergy", f"{p.patient_id}/{i}"),
            "clinicalStatus": _active(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
            ),
            "code": {"text": text},
            "patient": ref("Patient", p.patient_id),
        }
        for i, text in enumerate(_items(p.profile.allergies))
    ]


def consent(c: Consent) -> dict[str, Any]:
    """The elder's consent to share the record with the regional health-information platform
    (an opt-in privacy consent); a withdrawal is the same Consent made `inactive`, its provision
    a `deny` from the time it was recorded."""
    return {
        "resourceType": "Consent",
        "id": fhir_id(f"{c.tenant}/{c.patient_id}/consent/platform"),
        "identifier": _ident(f"urn:hmg:{c.tenant}:consent", f"{c.patient_id}/platform"),
        "status": "active" if c.shares else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "INFA"}
                ]
            },
        ],
        "patient": ref("Patient", c.patient_id),
        "performer": [ref("Patient", c.patient_id)],
        "dateTime": format_ts(c.recorded_at),
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ],
            "text": "share the record with the regional health-information platform",
        },
        "provision": {
            "type": "permit" if c.shares else "deny",
            "period": {"start": format_ts(c.recorded_at)},
            "purpose": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}
            ],
        },
    }
