"""HL7 FHIR R4 Observation JSON (vital-signs profile), a Bundle of them, and FHIR export.

A FHIR payload arrives on the same topics as wire v1 (`hm/v1/{tenant}/{device_id}/{kind}`) and is
recognised by its shape (`"resourceType"`). Identity still comes from the topic: an
`Observation.device` reference, when present, must name the topic's device, and every
Observation's kind must be the topic's kind. `Observation.subject` (`Patient/{id}`) is the
payload patient, honoured only for kiosks (the registry decides, as for v1).

De-duplication needs a per-device sequence number: it is `Observation.identifier` with system
`urn:hmg:seq` when present, else the effective time in epoch milliseconds (a device never takes
two measurements in the same millisecond). Units are UCUM codes, converted once at decode.
ECG is `valueSampledData` (top level or the first ECG `component`): value = origin + factor * data,
`period` in milliseconds, so fs = 1000/period, gain = 1/factor (ADC units per mV) and
baseline = -origin/factor; `data` must be integers (no `E`/`L`/`U` markers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from devices.codecs.base import number
from devices.codecs.v1 import MAX_BATCH, MAX_ECG_SAMPLES
from devices.errors import DecodeError, RejectReason
from devices.kinds import CODE_INDEX, KINDS, MDC, METRICS, Code, Kind
from devices.model import AttrValue, EcgChunk, Reading, Topic
from devices.timeparse import format_ts, parse_ts
from devices.units import converter
from devices.validate import check_plausible

UCUM: Final = "http://unitsofmeasure.org"
SEQ_SYSTEM: Final = "urn:hmg:seq"
CATEGORY: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
ACCEPTED_STATUS: Final = frozenset({"final", "amended", "corrected", "preliminary"})


def _panel(kind: Kind) -> Code:
    panel = KINDS[kind].panel
    assert panel is not None
    return panel


BP_PANEL: Final = _panel(Kind.BP)
ECG_PANEL: Final = _panel(Kind.ECG)
# Component code -> metric name of a BP panel (from the metric specs).
BP_COMPONENTS: Final = MappingProxyType(
    {c.code: name for name in KINDS[Kind.BP].metrics for c in METRICS[name].codes}
)
# MDC lead codes (ISO/IEEE 11073-10101) for ECG Observation.code / component.code.
LEADS: Final = MappingProxyType(
    {
        "131329": "I",
        "131330": "II",
        "131389": "III",
        "131390": "aVR",
        "131391": "aVL",
        "131392": "aVF",
        "131331": "V1",
        "131332": "V2",
        "131333": "V3",
        "131334": "V4",
        "131335": "V5",
        "131336": "V6",
    }
)
LEAD_CODES: Final = MappingProxyType({v: k for k, v in LEADS.items()})


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(RejectReason.SCHEMA, f"{where} must be an object")
    return value


def _codes(concept: Any, where: str) -> set[str]:
    """The codes of a CodeableConcept (any system we know)."""
    codings = _obj(concept, where).get("coding")
    if not isinstance(codings, list):
        raise DecodeError(RejectReason.SCHEMA, f"{where}.coding must be a list")
    out = set()
    for c in codings:
        if isinstance(c, dict) and isinstance(c.get("code"), str):
            out.add(c["code"])
    return out


def _quantity(q: Any, metric: str) -> float:
    q = _obj(q, metric)
    where = metric
    unit = q.get("code", q.get("unit"))
    conv = converter(METRICS[metric].units, unit, where)
    value = conv(number(q, "value", where))
    if not math.isfinite(value):
        raise DecodeError(RejectReason.SCHEMA, f"{where}: value out of range")
    return value


def _ref_id(ref: Any, resource: str, where: str) -> str | None:
    if ref is None:
        return None
    ref = _obj(ref, where)
    r = ref.get("reference")
    if isinstance(r, str) and r.startswith(f"{resource}/") and len(r) > len(resource) + 1:
        return r[len(resource) + 1 :]
    ident = ref.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str):
        return str(ident["value"])
    raise DecodeError(RejectReason.SCHEMA, f"{where}: expected {resource}/<id> or an identifier")


def _effective(obs: dict[str, Any]) -> datetime:
    if "effectiveDateTime" in obs:
        return parse_ts(obs["effectiveDateTime"])
    if "effectiveInstant" in obs:
        return parse_ts(obs["effectiveInstant"])
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        return parse_ts(period["start"])
    raise DecodeError(RejectReason.TIMESTAMP, "Observation without an effective time")


def _seq(obs: dict[str, Any], ts: datetime) -> int:
    idents = obs.get("identifier")
    if isinstance(idents, list):
        for ident in idents:
            if isinstance(ident, dict) and ident.get("system") == SEQ_SYSTEM:
                value = ident.get("value")
                if isinstance(value, str) and value.isascii() and value.isdigit():
                    seq = int(value)
                    if seq < 2**63:
                        return seq
                raise DecodeError(RejectReason.SCHEMA, f"identifier {SEQ_SYSTEM} must be digits")
    return int(ts.timestamp() * 1000)


def _sampled(sd: Any) -> tuple[float, float, int, np.ndarray[Any, np.dtype[np.int32]]]:
    """(fs, gain, baseline, samples) from a SampledData."""
    sd = _obj(sd, "valueSampledData")
    period = number(sd, "period", "valueSampledData")
    factor = number(sd, "factor", "valueSampledData") if "factor" in sd else 1.0
    if not factor > 0:
        raise DecodeError(RejectReason.ECG_FORMAT, "valueSampledData.factor must be positive")
    origin_q = _obj(sd.get("origin"), "valueSampledData.origin")
    origin = number(origin_q, "value", "valueSampledData.origin")
    if sd.get("dimensions", 1) != 1:
        raise DecodeError(RejectReason.ECG_FORMAT, "only one-dimensional SampledData")
    data = sd.get("data")
    if not isinstance(data, str):
        raise DecodeError(RejectReason.ECG_FORMAT, "valueSampledData.data must be a string")
    if not period > 0:
        raise DecodeError(RejectReason.ECG_FORMAT, "valueSampledData.period must be positive")
    fs = 1000.0 / period
    tokens = data.split()
    if len(tokens) > MAX_ECG_SAMPLES:
        raise DecodeError(RejectReason.TOO_LARGE, f"ecg: {len(tokens)} samples in one chunk")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError as exc:
        raise DecodeError(RejectReason.ECG_FORMAT, "ecg: data must be numbers") from exc
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise DecodeError(RejectReason.ECG_FORMAT, "ecg: data must be integers")
    if np.any(np.abs(values) >= 2**31):
        raise DecodeError(RejectReason.ECG_FORMAT, "ecg: sample out of 32-bit range")
    gain = 1.0 / factor
    baseline_f = -origin / factor
    if not (math.isfinite(gain) and math.isfinite(baseline_f) and abs(baseline_f) < 2**31):
        raise DecodeError(RejectReason.ECG_FORMAT, "ecg: origin/factor out of range")
    return fs, gain, round(baseline_f), values.astype(np.int32)


class FhirCodec:
    """Codec for FHIR R4 Observation / Bundle-of-Observation JSON."""

    name = "fhir"

    def accepts(self, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("resourceType") in ("Observation", "Bundle")

    def decode(self, topic: Topic, doc: Any, received_at: datetime) -> list[Reading]:
        if doc.get("resourceType") == "Bundle":
            entries = doc.get("entry")
            if not isinstance(entries, list) or not entries:
                raise DecodeError(RejectReason.SCHEMA, "Bundle without entries")
            if len(entries) > MAX_BATCH:
                raise DecodeError(RejectReason.TOO_LARGE, f"Bundle of {len(entries)} > {MAX_BATCH}")
            resources = [_obj(e, "Bundle.entry").get("resource") for e in entries]
        else:
            resources = [doc]
        return [self._observation(topic, r, received_at) for r in resources]

    def _observation(  # noqa: C901 - one check per Observation field, in document order
        self, topic: Topic, obs: Any, received_at: datetime
    ) -> Reading:
        if not isinstance(obs, dict) or obs.get("resourceType") != "Observation":
            raise DecodeError(RejectReason.SCHEMA, "Bundle entries must be Observations")
        status = obs.get("status")
        if not isinstance(status, str) or status not in ACCEPTED_STATUS:
            raise DecodeError(RejectReason.SCHEMA, f"Observation.status {status!r}")
        device = _ref_id(obs.get("device"), "Device", "Observation.device")
        if device is not None and device != topic.device_id:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH,
                f"Observation.device {device!r} differs from topic device {topic.device_id!r}",
            )
        patient_id = _ref_id(obs.get("subject"), "Patient", "Observation.subject")
        codes = _codes(obs.get("code"), "Observation.code")
        ts = _effective(obs)
        seq = _seq(obs, ts)
        values: dict[str, float] = {}
        attrs: dict[str, AttrValue] = {}
        ecg = None
        if BP_PANEL.code in codes:
            kind = Kind.BP
            comps = obs.get("component")
            if not isinstance(comps, list):
                raise DecodeError(RejectReason.SCHEMA, "BP panel without components")
            for item in comps:
                comp = _obj(item, "Observation.component")
                for code in _codes(comp.get("code"), "component.code") & BP_COMPONENTS.keys():
                    name = BP_COMPONENTS[code]
                    values[name] = _quantity(comp.get("valueQuantity"), name)
            if "systolic" not in values or "diastolic" not in values:
                raise DecodeError(RejectReason.SCHEMA, "BP panel needs 8480-6 and 8462-4")
        elif ECG_PANEL.code in codes:
            kind = Kind.ECG
            sd, lead = obs.get("valueSampledData"), "II"
            if sd is None and isinstance(obs.get("component"), list):
                for comp in obs["component"]:
                    if isinstance(comp, dict) and "valueSampledData" in comp:
                        sd = comp["valueSampledData"]
                        lead_codes = _codes(comp.get("code"), "component.code") & LEADS.keys()
                        lead = LEADS[min(lead_codes)] if lead_codes else lead
                        break
            lead_codes = codes & LEADS.keys()
            if lead_codes:
                lead = LEADS[min(lead_codes)]
            fs, gain, baseline, samples = _sampled(sd)
            ecg = EcgChunk(fs=fs, lead=lead, gain=gain, baseline=baseline, samples=samples)
        else:
            known = {c for c in codes if c in CODE_INDEX and CODE_INDEX[c][1] is not None}
            if not known:
                raise DecodeError(
                    RejectReason.SCHEMA, f"no supported LOINC code in {sorted(codes)}"
                )
            kind, metric, found = CODE_INDEX[min(known)]
            assert metric is not None
            values[metric] = _quantity(obs.get("valueQuantity"), metric)
            attrs.update(found.attrs)
        if kind.value != topic.kind:
            raise DecodeError(
                RejectReason.TOPIC_MISMATCH,
                f"Observation is {kind.value!r}, topic is {topic.kind!r}",
            )
        check_plausible(values)
        return Reading(
            topic.tenant,
            topic.device_id,
            kind,
            seq,
            ts,
            received_at,
            patient_id,
            values,
            attrs,
            ecg,
        )

    def encode(self, readings: Sequence[Reading]) -> bytes:
        doc = to_fhir(readings[0]) if len(readings) == 1 else bundle(readings, "collection")
        return json.dumps(doc, separators=(",", ":")).encode()


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _qty(value: float, ucum: str) -> dict[str, Any]:
    return {"value": value, "unit": ucum, "system": UCUM, "code": ucum}


def to_fhir(r: Reading) -> dict[str, Any]:
    """A stored reading as a FHIR R4 Observation (vital-signs profile, canonical UCUM units)."""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{r.device_id}-{r.seq}",
        "identifier": [{"system": SEQ_SYSTEM, "value": str(r.seq)}],
        "status": "final",
        "category": [CATEGORY],
        "effectiveDateTime": format_ts(r.ts),
        "device": {"reference": f"Device/{r.device_id}"},
    }
    if r.patient_id:
        obs["subject"] = {"reference": f"Patient/{r.patient_id}"}
    if r.kind is Kind.BP:
        obs["code"] = {"coding": [_coding(BP_PANEL.system, BP_PANEL.code, BP_PANEL.display)]}
        comps = []
        for name in KINDS[Kind.BP].metrics:
            spec = METRICS[name]
            code = spec.export_code(r.attrs)
            if name in r.values and code is not None:
                comps.append(
                    {
                        "code": {"coding": [_coding(code.system, code.code, code.display)]},
                        "valueQuantity": _qty(r.values[name], spec.ucum),
                    }
                )
        obs["component"] = comps
    elif r.kind is Kind.ECG:
        assert r.ecg is not None
        e = r.ecg
        codings = [_coding(ECG_PANEL.system, ECG_PANEL.code, ECG_PANEL.display)]
        if e.lead in LEAD_CODES:
            codings.append(_coding(MDC, LEAD_CODES[e.lead], f"MDC_ECG_ELEC_POTL_{e.lead.upper()}"))
        obs["code"] = {"coding": codings, "text": f"ECG lead {e.lead}"}
        obs["valueSampledData"] = {
            "origin": {"value": -e.baseline / e.gain, "unit": "mV", "system": UCUM, "code": "mV"},
            "period": 1000.0 / e.fs,
            "factor": 1.0 / e.gain,
            "dimensions": 1,
            "data": " ".join(map(str, e.samples.tolist())),
        }
    else:
        names = KINDS[r.kind].metrics
        single = METRICS[names[0]] if len(names) == 1 else None
        export = single.export_code(r.attrs) if single is not None else None
        if single is None or export is None or single.name not in r.values:
            raise ValueError(f"no FHIR mapping for a {r.kind.value} reading")
        obs["code"] = {"coding": [_coding(export.system, export.code, export.display)]}
        obs["valueQuantity"] = _qty(r.values[single.name], single.ucum)
    return obs


def exportable(r: Reading) -> bool:
    """Vital signs only: device status and emergency events have no vital-signs Observation."""
    return r.kind not in (Kind.STATUS, Kind.EVENT)


def bundle(readings: Sequence[Reading], type_: str = "searchset") -> dict[str, Any]:
    """Readings as a FHIR Bundle (status readings have no vital-signs mapping and are skipped)."""
    entries = [{"resource": to_fhir(r)} for r in readings if exportable(r)]
    doc: dict[str, Any] = {"resourceType": "Bundle", "type": type_, "entry": entries}
    if type_ == "searchset":
        doc["total"] = len(entries)
    return doc
