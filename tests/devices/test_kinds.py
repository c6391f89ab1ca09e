"""The kind spec table is the one source every codec and check reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from alerts.ecg.analyzer import EcgAnalyzer
from devices.codecs import decode_payload
from devices.codecs.fhir import to_fhir
from devices.errors import DecodeError, RejectReason
from devices.kinds import CODE_INDEX, ECG_SAMPLING, KINDS, METRICS, Kind, kind_for_code
from devices.model import EcgChunk, Reading

T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)


def test_every_metric_belongs_to_its_kind_and_every_kind_is_specified() -> None:
    assert set(KINDS) == set(Kind)
    for ks in KINDS.values():
        for name in ks.metrics:
            assert METRICS[name].kind is ks.kind
            assert METRICS[name].ucum in METRICS[name].units


@pytest.mark.parametrize("code", sorted(c for c, (_, m, _) in CODE_INDEX.items() if m))
def test_every_metric_code_decodes_from_fhir_to_its_metric(code: str) -> None:
    kind, name, spec_code = CODE_INDEX[code]
    assert name is not None
    spec = METRICS[name]
    mid = (spec.low + spec.high) / 2
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": spec_code.system, "code": code}]},
        "effectiveDateTime": "2026-11-22T08:00:00Z",
        "valueQuantity": {"value": mid, "code": spec.ucum},
    }
    [r] = decode_payload(f"hm/v1/t/d/{kind.value}", json.dumps(obs).encode(), T0)
    assert r.values == {name: pytest.approx(mid)}
    assert set(spec_code.attrs) <= set(r.attrs.items())
    if spec_code.export:
        assert to_fhir(r)["code"]["coding"][0]["code"] == code


def test_panels_name_their_kind() -> None:
    assert kind_for_code("85354-9") is Kind.BP
    assert kind_for_code("131328") is Kind.ECG
    assert kind_for_code("8867-4") is Kind.HR  # a BP panel component only inside the panel


@pytest.mark.parametrize("fs", [ECG_SAMPLING.fs_min - 1, ECG_SAMPLING.fs_max + 1])
def test_one_ecg_sampling_limit_for_codecs_chunks_and_analyser(fs: float) -> None:
    n = 200
    v1 = {
        "schema": "hm.reading/1",
        "device_id": "d",
        "seq": 1,
        "ts": "2026-11-22T08:00:00Z",
        "kind": "ecg",
        "data": {"fs": fs, "gain": 200, "samples": [0] * n},
    }
    fhir = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"code": "131328"}]},
        "effectiveDateTime": "2026-11-22T08:00:00Z",
        "valueSampledData": {
            "origin": {"value": 0},
            "period": 1000.0 / fs,
            "factor": 0.005,
            "data": " ".join(["0"] * n),
        },
    }
    for doc in (v1, fhir):
        with pytest.raises(DecodeError) as err:
            decode_payload("hm/v1/t/d/ecg", json.dumps(doc).encode(), T0)
        assert err.value.reason is RejectReason.ECG_FORMAT
    with pytest.raises(DecodeError):
        EcgChunk(fs, "II", 200.0, 0, np.zeros(n, dtype=np.int32))
    with pytest.raises(ValueError, match="out of range"):
        EcgAnalyzer(fs)
    for ok in (ECG_SAMPLING.fs_min, ECG_SAMPLING.fs_max):
        chunk = EcgChunk(ok, "II", 200.0, 0, np.zeros(n, dtype=np.int32))
        Reading("t", "d", Kind.ECG, 1, T0, T0, ecg=chunk)
        EcgAnalyzer(ok)
