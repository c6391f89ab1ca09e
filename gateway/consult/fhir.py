"""The consultation exchange as FHIR R4 resources (pure): the request (`ServiceRequest`, LOINC
45033-8), the worklist item (`Task` whose focus is the request, deadline in
`restriction.period.end`), the ECG window (`Observation` with `valueSampledData`), the caliper
measurements (one `Observation` each), the answer (`DiagnosticReport` based on the request, its
results the measurements and the waveform, conclusion coded in SNOMED CT) and the messages
(`Communication`: the question, and the report back with its read-back as `received`)."""

from __future__ import annotations

from typing import Any, Final

from alerts.consult import FINDINGS, ConsultRequest, Report, Status
from alerts.consult.findings import FINDING_SYSTEM, SNOMED_SYSTEM
from devices.kinds import MDC
from devices.timeparse import format_ts
from gateway.fhir.resources import fhir_id, ref

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
MEASURE_SYSTEM: Final = "urn:hmg:ecg-measure"
# Caliper measurements: LOINC where the interval has a code.
MEASURE_LOINC: Final = {
    "PR": ("8625-6", "P-R Interval"),
    "QRS": ("8633-4", "QRS duration"),
    "QT": ("8634-2", "Q-T interval"),
    "QTc": ("8636-7", "Q-T interval corrected"),
}
LEAD_MDC: Final = {"I": "131329", "II": "131330", "III": "131331"}
_TASK_STATUS: Final = {
    Status.REQUESTED: "requested",
    Status.CLAIMED: "in-progress",
    Status.FINAL: "completed",
    Status.AMENDED: "completed",
}


def _key(q: ConsultRequest, part: str) -> str:
    return f"urn:hmg:{q.tenant}:consult:{q.request_id}:{part}"


def _ident(q: ConsultRequest, part: str) -> list[dict[str, str]]:
    return [{"system": f"urn:hmg:{q.tenant}:consult", "value": f"{q.request_id}:{part}"}]


def _person(name: str) -> dict[str, Any]:
    return {"display": name}


def service_request(q: ConsultRequest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": fhir_id(_key(q, "request")),
        "identifier": _ident(q, "request"),
        "status": "completed" if q.status.reported else "active",
        "intent": "order",
        "priority": q.priority.value,
        "code": {"coding": [{"system": LOINC, "code": "45033-8"}], "text": "Remote ECG reading"},
        "subject": ref("Patient", q.patient_id),
        "authoredOn": format_ts(q.requested_at),
        "requester": _person(q.requested_by),
        "performer": [{"display": q.centre_id}],
        "reasonCode": [{"text": q.question}],
        "supportingInfo": [ref("Observation", _key(q, "ecg"))],
    }
    if q.alert_id:
        out["reasonReference"] = [ref("Flag", q.alert_id)]
    return out


def task(q: ConsultRequest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Task",
        "id": fhir_id(_key(q, "task")),
        "identifier": _ident(q, "task"),
        "basedOn": [ref("ServiceRequest", _key(q, "request"))],
        "status": _TASK_STATUS[q.status],
        "intent": "order",
        "priority": q.priority.value,
        "focus": ref("ServiceRequest", _key(q, "request")),
        "for": ref("Patient", q.patient_id),
        "authoredOn": format_ts(q.requested_at),
        "requester": _person(q.requested_by),
        "restriction": {"period": {"end": format_ts(q.due_at)}},
    }
    if q.updated_at is not None:
        out["lastModified"] = format_ts(q.updated_at)
    holder = q.claimed_by if q.status is not Status.REQUESTED else None
    if q.report is not None:
        holder = q.report.signed_by
        out["output"] = [
            {
                "type": {"text": "report"},
                "valueReference": ref("DiagnosticReport", _key(q, "report")),
            }
        ]
    if holder:
        out["owner"] = _person(holder)
    return out


def waveform(q: ConsultRequest) -> dict[str, Any]:
    """The ECG window: one component per lead, microvolt integers scaled to mV."""
    w = q.ecg
    lead_code = [{"system": MDC, "code": LEAD_MDC[w.lead]}] if w.lead in LEAD_MDC else []
    data = " ".join(str(round(v * 1000)) for v in w.samples) or "E"
    return {
        "resourceType": "Observation",
        "id": fhir_id(_key(q, "ecg")),
        "identifier": _ident(q, "ecg"),
        "status": "final",
        "code": {
            "coding": [{"system": MDC, "code": "131328", "display": "MDC_ECG_ELEC_POTL"}],
            "text": f"ECG lead {w.lead}",
        },
        "subject": ref("Patient", q.patient_id),
        "effectivePeriod": {"start": format_ts(w.start), "end": format_ts(w.end)},
        "device": {"display": w.device_id},
        "component": [
            {
                "code": {"coding": lead_code, "text": f"Lead {w.lead}"},
                "valueSampledData": {
                    "origin": {"value": 0, "unit": "mV", "system": UCUM, "code": "mV"},
                    "period": 1000.0 / w.fs,
                    "factor": 0.001,
                    "dimensions": 1,
                    "data": data,
                },
            }
        ],
    }


def measurements(q: ConsultRequest, r: Report) -> list[dict[str, Any]]:
    out = []
    for name, ms in sorted(r.measurements.items()):
        coding = [{"system": MEASURE_SYSTEM, "code": name}]
        if name in MEASURE_LOINC:
            code, display = MEASURE_LOINC[name]
            coding.insert(0, {"system": LOINC, "code": code, "display": display})
        out.append(
            {
                "resourceType": "Observation",
                "id": fhir_id(_key(q, f"m-{name}-v{r.version}")),
                "status": "final" if r.version == 1 else "amended",
                "code": {"coding": coding, "text": f"{name} interval"},
                "subject": ref("Patient", q.patient_id),
                "effectivePeriod": {"start": format_ts(q.ecg.start), "end": format_ts(q.ecg.end)},
                "performer": [_person(r.signed_by)],
                "valueQuantity": {"value": ms, "unit": "ms", "system": UCUM, "code": "ms"},
                "derivedFrom": [ref("Observation", _key(q, "ecg"))],
            }
        )
    return out


def diagnostic_report(
    q: ConsultRequest, r: Report, results: list[dict[str, Any]]
) -> dict[str, Any]:
    codes = []
    for c in r.findings:
        f = FINDINGS[c]
        coding = [{"system": FINDING_SYSTEM, "code": c, "display": f.en}]
        if f.snomed:
            coding.insert(0, {"system": SNOMED_SYSTEM, "code": f.snomed, "display": f.en})
        codes.append({"coding": coding, "text": f.en})
    conclusion = "; ".join([FINDINGS[c].en for c in r.findings] + ([r.text] if r.text else []))
    return {
        "resourceType": "DiagnosticReport",
        "id": fhir_id(_key(q, "report")),
        "identifier": _ident(q, "report"),
        "basedOn": [ref("ServiceRequest", _key(q, "request"))],
        "status": "final" if q.status is Status.FINAL else "amended",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                        "code": "EC",
                        "display": "Electrocardiac (e.g., EKG, EEC, Holter)",
                    }
                ],
                "text": "Cardiology",
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": "11524-6", "display": "EKG study"}]},
        "subject": ref("Patient", q.patient_id),
        "effectivePeriod": {"start": format_ts(q.ecg.start), "end": format_ts(q.ecg.end)},
        "issued": format_ts(r.signed_at),
        "performer": [{"display": q.centre_id}],
        "resultsInterpreter": [_person(r.signed_by)],
        "result": [{"reference": f"Observation/{o['id']}"} for o in results],
        "conclusion": conclusion or "-",
        **({"conclusionCode": codes} if codes else {}),
    }


def communications(q: ConsultRequest) -> list[dict[str, Any]]:
    """The question to the centre, and the report back (received = the read-back)."""
    asked: dict[str, Any] = {
        "resourceType": "Communication",
        "id": fhir_id(_key(q, "question")),
        "basedOn": [ref("ServiceRequest", _key(q, "request"))],
        "status": "completed",
        "subject": ref("Patient", q.patient_id),
        "sent": format_ts(q.requested_at),
        "sender": _person(q.requested_by),
        "recipient": [{"display": q.centre_id}],
        "payload": [{"contentString": q.question}],
    }
    out = [asked]
    if q.report is not None:
        back: dict[str, Any] = {
            "resourceType": "Communication",
            "id": fhir_id(_key(q, f"report-back-v{q.report.version}")),
            "basedOn": [ref("ServiceRequest", _key(q, "request"))],
            "status": "completed",
            "category": [{"text": "critical result" if q.report.critical else "result"}],
            "priority": "stat" if q.report.critical else "routine",
            "subject": ref("Patient", q.patient_id),
            "about": [ref("DiagnosticReport", _key(q, "report"))],
            "sent": format_ts(q.report.signed_at),
            "sender": _person(q.report.signed_by),
            "recipient": [_person(q.requested_by)],
            "payload": [{"contentReference": ref("DiagnosticReport", _key(q, "report"))}],
        }
        if q.receipt_at is not None:
            back["received"] = format_ts(q.receipt_at)
        out.append(back)
    return out


def exchange(q: ConsultRequest, base: str) -> dict[str, Any]:
    """The whole exchange as a `collection` Bundle (fullUrls under `base`)."""
    resources = [service_request(q), task(q), waveform(q)]
    if q.report is not None:
        results = measurements(q, q.report)
        resources += [*results, diagnostic_report(q, q.report, [*results, resources[2]])]
    resources += communications(q)
    return {
        "resourceType": "Bundle",
        "id": fhir_id(_key(q, "bundle")),
        "type": "collection",
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }
