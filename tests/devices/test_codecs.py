"""Contract tests: every registered codec goes through the same checks (decode, encode, round trip,
rejection reasons), and never raises anything but `DecodeError` (hypothesis)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.codecs import CODECS, Codec, codec_for, decode_payload
from devices.codecs.base import MAX_PAYLOAD_BYTES
from devices.errors import DecodeError, RejectReason
from devices.kinds import Kind
from devices.model import EcgChunk, Reading, Topic

T0 = datetime(2026, 11, 22, 8, 0, 0, 123000, tzinfo=UTC)
RX = T0 + timedelta(seconds=1)


def r(
    kind: Kind, seq: int, values: dict[str, float], *, device: str = "dev-1", **kw: Any
) -> Reading:
    return Reading("t1", device, kind, seq, kw.pop("ts", T0), RX, values=values, **kw)


def ecg_reading(device: str = "dev-1", seq: int = 7, n: int = 250) -> Reading:
    samples = (np.sin(np.arange(n) / 8.0) * 900).astype(np.int32)
    chunk = EcgChunk(fs=250.0, lead="II", gain=200.0, baseline=100, samples=samples)
    return Reading("t1", device, Kind.ECG, seq, T0, RX, ecg=chunk)


@dataclass
class Case:
    """A codec's examples: readings that must round-trip, and payloads it must reject."""

    topic: dict[Kind, str]
    readings: list[list[Reading]]
    rejects: list[tuple[str, bytes, RejectReason]] = field(default_factory=list)


def v1_doc(**over: Any) -> bytes:
    doc = {
        "schema": "hm.reading/1",
        "device_id": "dev-1",
        "seq": 1,
        "ts": "2026-11-22T08:00:00Z",
        "kind": "bp",
        "patient_id": None,
        "data": {"systolic": 150, "diastolic": 90, "unit": "mmHg"},
    }
    doc.update(over)
    return json.dumps(doc).encode()


def fhir_obs(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "effectiveDateTime": "2026-11-22T08:00:00Z",
        "device": {"reference": "Device/dev-1"},
        "valueQuantity": {
            "value": 72,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }
    doc.update(over)
    return doc


def kiosk_doc(**over: Any) -> bytes:
    doc: dict[str, Any] = {
        "schema": "hm.kiosk/1",
        "device_id": "kiosk-1",
        "seq": 3,
        "ts": "2026-11-22T08:00:00Z",
        "patient_id": "p-001",
        "measurements": {"bp": {"systolic": 150, "diastolic": 90, "unit": "mmHg"}},
    }
    doc.update(over)
    return json.dumps(doc).encode()


BP = "hm/v1/t1/dev-1/bp"
HR = "hm/v1/t1/dev-1/hr"
CASES: dict[str, Case] = {
    "v1": Case(
        topic={k: f"hm/v1/t1/dev-1/{k.value}" for k in Kind},
        readings=[
            [r(Kind.BP, 1, {"systolic": 182.0, "diastolic": 121.0, "pulse": 96.0})],
            [r(Kind.GLUCOSE, 2, {"glucose": 3.2}, attrs={"source": "cgm", "context": "fasting"})],
            [r(Kind.HR, 3, {"hr": 71.0}), r(Kind.HR, 4, {"hr": 72.0})],
            [r(Kind.SPO2, 5, {"spo2": 95.0})],
            [r(Kind.STATUS, 6, {"battery": 0.1}, attrs={"lead_off": True})],
            [ecg_reading()],
        ],
        rejects=[
            (BP, b"{", RejectReason.MALFORMED),
            (BP, b"\xff\xfe", RejectReason.MALFORMED),
            (BP, v1_doc(schema="hm.reading/2"), RejectReason.SCHEMA),
            (BP, v1_doc(device_id="dev-2"), RejectReason.TOPIC_MISMATCH),
            (BP, v1_doc(kind="hr"), RejectReason.TOPIC_MISMATCH),
            (BP, v1_doc(data={"systolic": 150, "diastolic": 90, "unit": "psi"}), RejectReason.UNIT),
            (BP, v1_doc(data={"systolic": 80, "diastolic": 90}), RejectReason.IMPLAUSIBLE),
            (BP, v1_doc(data={"systolic": 400, "diastolic": 90}), RejectReason.IMPLAUSIBLE),
            (BP, v1_doc(ts="2026-11-22T08:00:00"), RejectReason.TIMESTAMP),
            (BP, v1_doc(seq=-1), RejectReason.SCHEMA),
            (BP, b"[]", RejectReason.SCHEMA),
            (BP, b" " * (MAX_PAYLOAD_BYTES + 1), RejectReason.TOO_LARGE),
            (
                "hm/v1/t1/dev-1/ecg",
                v1_doc(kind="ecg", data={"fs": 50, "gain": 200, "samples": [1, 2]}),
                RejectReason.ECG_FORMAT,
            ),
            (
                "hm/v1/t1/dev-1/ecg",
                v1_doc(kind="ecg", data={"fs": 250, "gain": 200, "samples_b64": "AAA"}),
                RejectReason.ECG_FORMAT,
            ),
        ],
    ),
    "fhir": Case(
        topic={k: f"hm/v1/t1/dev-1/{k.value}" for k in Kind},
        readings=[
            [
                r(
                    Kind.BP,
                    11,
                    {"systolic": 150.0, "diastolic": 95.0, "pulse": 80.0},
                    patient_id="p-1",
                )
            ],
            [r(Kind.GLUCOSE, 12, {"glucose": 5.5}, attrs={"source": "cgm"})],
            [r(Kind.GLUCOSE, 13, {"glucose": 7.1}, attrs={"source": "fingerstick"})],
            [r(Kind.HR, 14, {"hr": 64.0}), r(Kind.HR, 15, {"hr": 66.0})],
            [r(Kind.SPO2, 16, {"spo2": 97.0})],
            [ecg_reading(seq=17)],
        ],
        rejects=[
            (HR, json.dumps(fhir_obs(status="cancelled")).encode(), RejectReason.SCHEMA),
            (
                HR,
                json.dumps(fhir_obs(device={"reference": "Device/other"})).encode(),
                RejectReason.TOPIC_MISMATCH,
            ),
            (BP, json.dumps(fhir_obs()).encode(), RejectReason.TOPIC_MISMATCH),
            (
                HR,
                json.dumps(fhir_obs(valueQuantity={"value": 72, "code": "Hz"})).encode(),
                RejectReason.UNIT,
            ),
            (
                HR,
                json.dumps(fhir_obs(valueQuantity={"value": 900, "code": "/min"})).encode(),
                RejectReason.IMPLAUSIBLE,
            ),
            (
                HR,
                json.dumps(fhir_obs(code={"coding": [{"code": "0000-0"}]})).encode(),
                RejectReason.SCHEMA,
            ),
            (HR, json.dumps({"resourceType": "Bundle", "entry": []}).encode(), RejectReason.SCHEMA),
            (
                HR,
                json.dumps(fhir_obs(effectiveDateTime="yesterday")).encode(),
                RejectReason.TIMESTAMP,
            ),
        ],
    ),
    "kiosk": Case(
        topic=dict.fromkeys(Kind, "hm/v1/t1/kiosk-1/kiosk"),
        readings=[
            [
                r(
                    Kind.BP,
                    24,
                    {"systolic": 150.0, "diastolic": 90.0},
                    device="kiosk-1",
                    patient_id="p-001",
                    attrs={"source": "kiosk"},
                ),
                r(
                    Kind.GLUCOSE,
                    25,
                    {"glucose": 6.8},
                    device="kiosk-1",
                    patient_id="p-001",
                    attrs={"source": "fingerstick", "context": "fasting"},
                ),
                r(
                    Kind.HR,
                    26,
                    {"hr": 78.0},
                    device="kiosk-1",
                    patient_id="p-001",
                    attrs={"source": "kiosk"},
                ),
                r(
                    Kind.WEIGHT,
                    27,
                    {"weight": 61.5},
                    device="kiosk-1",
                    patient_id="p-001",
                    attrs={"source": "kiosk"},
                ),
            ],
        ],
        rejects=[
            ("hm/v1/t1/kiosk-1/bp", kiosk_doc(), RejectReason.TOPIC_MISMATCH),
            ("hm/v1/t1/kiosk-1/kiosk", kiosk_doc(device_id="kiosk-2"), RejectReason.TOPIC_MISMATCH),
            ("hm/v1/t1/kiosk-1/kiosk", kiosk_doc(patient_id=None), RejectReason.SCHEMA),
            ("hm/v1/t1/kiosk-1/kiosk", kiosk_doc(measurements={}), RejectReason.SCHEMA),
            ("hm/v1/t1/kiosk-1/kiosk", kiosk_doc(measurements={"iq": {}}), RejectReason.SCHEMA),
            (
                "hm/v1/t1/kiosk-1/kiosk",
                kiosk_doc(measurements={"glucose": {"value": 6, "unit": "g/L"}}),
                RejectReason.UNIT,
            ),
            (
                "hm/v1/t1/kiosk-1/kiosk",
                kiosk_doc(measurements={"weight": {"value": 900}}),
                RejectReason.IMPLAUSIBLE,
            ),
        ],
    ),
}


def same(a: Reading, b: Reading) -> None:
    assert (a.tenant, a.device_id, a.kind, a.seq, a.ts) == (
        b.tenant,
        b.device_id,
        b.kind,
        b.seq,
        b.ts,
    )
    assert a.patient_id == b.patient_id
    assert a.values.keys() == b.values.keys()
    for k, v in a.values.items():
        assert b.values[k] == pytest.approx(v)
    assert dict(a.attrs) == dict(b.attrs)
    assert (a.ecg is None) == (b.ecg is None)
    if a.ecg is not None and b.ecg is not None:
        assert (a.ecg.fs, a.ecg.lead, a.ecg.baseline) == (b.ecg.fs, b.ecg.lead, b.ecg.baseline)
        assert a.ecg.gain == pytest.approx(b.ecg.gain)
        np.testing.assert_array_equal(a.ecg.samples, b.ecg.samples)


def codec_named(name: str) -> Codec:
    return next(c for c in CODECS if c.name == name)


def test_every_registered_codec_has_contract_cases() -> None:
    assert {c.name for c in CODECS} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip(name: str) -> None:
    codec, case = codec_named(name), CASES[name]
    for readings in case.readings:
        payload = codec.encode(readings)
        doc = json.loads(payload)
        assert codec.accepts(doc)
        assert codec_for(doc) is codec  # the front door picks this codec by document shape
        decoded = decode_payload(case.topic[readings[0].kind], payload, RX)
        assert len(decoded) == len(readings)
        for a, b in zip(readings, decoded, strict=True):
            same(a, b)


@pytest.mark.parametrize(
    ("name", "i"), [(n, i) for n in sorted(CASES) for i in range(len(CASES[n].rejects))]
)
def test_rejection_reasons(name: str, i: int) -> None:
    topic, payload, reason = CASES[name].rejects[i]
    with pytest.raises(DecodeError) as exc:
        decode_payload(topic, payload, RX)
    assert exc.value.reason is reason, exc.value.detail


def test_v1_units_converted_once_at_decode() -> None:
    doc = v1_doc(data={"systolic": 24, "diastolic": 16, "unit": "kPa"})
    (bp,) = decode_payload(BP, doc, RX)
    assert bp.values["systolic"] == pytest.approx(24 * 7.50062)
    doc = v1_doc(kind="glucose", data={"value": 90, "unit": "mg/dL"})
    (g,) = decode_payload("hm/v1/t1/dev-1/glucose", doc, RX)
    assert g.values["glucose"] == pytest.approx(90 / 18.016)


def test_binary_ecg_samples_b64_little_endian_int16() -> None:
    samples = np.array([0, 1, -1, 32767, -32768], dtype="<i2")
    data = {
        "fs": 500,
        "gain": 1000,
        "lead": "II",
        "samples_b64": base64.b64encode(samples.tobytes()).decode(),
    }
    (rd,) = decode_payload("hm/v1/t1/dev-1/ecg", v1_doc(kind="ecg", data=data), RX)
    assert rd.ecg is not None
    assert rd.ecg.samples.tolist() == [0, 1, -1, 32767, -32768]
    for fs in (124, 1001):
        with pytest.raises(DecodeError) as exc:
            decode_payload("hm/v1/t1/dev-1/ecg", v1_doc(kind="ecg", data={**data, "fs": fs}), RX)
        assert exc.value.reason is RejectReason.ECG_FORMAT


FHIR_BP = {
    "resourceType": "Observation",
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ],
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "subject": {"reference": "Patient/p-001"},
    "device": {"reference": "Device/dev-1"},
    "effectiveDateTime": "2026-11-22T08:00:00+08:00",
    "component": [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {
                "value": 24.0,
                "unit": "kPa",
                "system": "http://unitsofmeasure.org",
                "code": "kPa",
            },
        },
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
            "valueQuantity": {
                "value": 12.0,
                "unit": "kPa",
                "system": "http://unitsofmeasure.org",
                "code": "kPa",
            },
        },
    ],
}


def test_fhir_examples() -> None:
    (bp,) = decode_payload(BP, json.dumps(FHIR_BP).encode(), RX)
    assert bp.values["systolic"] == pytest.approx(180.01, abs=0.01)
    assert bp.patient_id == "p-001"
    assert bp.ts == datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    assert bp.seq == int(bp.ts.timestamp() * 1000)  # no urn:hmg:seq identifier: epoch ms
    cgm = fhir_obs(
        code={"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
        valueQuantity={"value": 54, "code": "mg/dL"},
        identifier=[{"system": "urn:hmg:seq", "value": "42"}],
    )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": cgm}]}
    (g,) = decode_payload("hm/v1/t1/dev-1/glucose", json.dumps(bundle).encode(), RX)
    assert (g.seq, g.attrs["source"]) == (42, "cgm")
    assert g.values["glucose"] == pytest.approx(54 / 18.016)
    ecg = fhir_obs(
        code={"coding": [{"system": "urn:oid:2.16.840.1.113883.6.24", "code": "131328"}]},
        valueQuantity=None,
        component=[
            {
                "code": {
                    "coding": [{"system": "urn:oid:2.16.840.1.113883.6.24", "code": "131389"}]
                },
                "valueSampledData": {
                    "origin": {"value": -0.5},
                    "period": 4,
                    "factor": 0.005,
                    "dimensions": 1,
                    "data": "0 100 200 -100",
                },
            }
        ],
    )
    (e,) = decode_payload("hm/v1/t1/dev-1/ecg", json.dumps(ecg).encode(), RX)
    assert e.ecg is not None
    assert (e.ecg.fs, e.ecg.lead, e.ecg.baseline) == (250.0, "III", 100)
    assert e.ecg.gain == pytest.approx(200.0)
    assert e.ecg.millivolts()[1] == pytest.approx(0.0)


# -- property-based: any input -> readings or a typed DecodeError -------------------------------
TOPICS = [f"hm/v1/t1/dev-1/{k.value}" for k in Kind] + ["hm/v1/t1/kiosk-1/kiosk", "bad/topic"]


def check_total(topic: str, payload: bytes) -> None:
    try:
        out = decode_payload(topic, payload, RX)
    except DecodeError as exc:
        reason = exc.reason
        assert isinstance(reason, RejectReason)
        return
    assert isinstance(out, list)
    assert all(isinstance(x, Reading) for x in out)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=600))
def test_any_bytes_give_readings_or_a_decode_error(topic: str, payload: bytes) -> None:
    check_total(topic, payload)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _seed_docs() -> list[tuple[str, Any]]:
    docs = []
    for name, case in CASES.items():
        codec = codec_named(name)
        for readings in case.readings:
            docs.append((case.topic[readings[0].kind], json.loads(codec.encode(readings))))
    docs.append((BP, FHIR_BP))
    return docs


SEEDS = _seed_docs()


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_valid_documents_give_readings_or_a_decode_error(data: st.DataObject) -> None:
    """Replace one field anywhere in a valid document (of every codec) by arbitrary JSON."""
    topic, seed = data.draw(st.sampled_from(SEEDS))
    doc = json.loads(json.dumps(seed))
    path = data.draw(st.sampled_from(_paths(doc)))
    value = data.draw(JSON)
    if not path:
        doc = value
    else:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    try:
        payload = json.dumps(doc).encode()
    except ValueError:
        return
    check_total(topic, payload)


def test_topic_is_parsed_or_rejected() -> None:
    assert Topic.parse("hm/v1/t1/dev-1/bp") == Topic("t1", "dev-1", "bp")
    with pytest.raises(DecodeError) as exc:
        Topic.parse("hm/v2/t1/dev-1/bp")
    assert exc.value.reason is RejectReason.TOPIC
