"""The elder's record in FHIR R4 through the ASGI app: Patient, $everything and the summary
document validate against the R4 models, round-trip, and say what the gateway holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devices.model import utcnow
from gateway.actor import Role
from gateway.api.app import create_app
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.auth import auth_headers
from tests.support.fhir import resources_of, validate
from tests.support.record import seed_record


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    gw = Gateway(Settings(mode="test", data_dir=tmp_path))
    await gw.start(mqtt=False)
    await seed_record(gw, utcnow())
    await gw.followups.step()  # hypertension and diabetes: two follow-up Tasks
    app = create_app(gateway=gw)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(app)
    ) as c:
        c.headers["x-other"] = auth_headers(app, Role.CLINICIAN, tenant="t2")["Authorization"]
        yield c
    await gw.stop()


def _by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in resources_of(bundle):
        out.setdefault(r["resourceType"], []).append(r)
    return out


async def test_patient_reads_as_a_valid_r4_patient(client: httpx.AsyncClient) -> None:
    r = await client.get("/fhir/Patient/p-1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    p = r.json()
    validate(p)
    assert (p["id"], p["gender"], p["birthDate"], p["name"][0]["text"]) == (
        "p-1", "female", "1948", "王芳",
    )  # fmt: skip
    other = {"Authorization": client.headers["x-other"]}
    assert (await client.get("/fhir/Patient/p-1", headers=other)).status_code == 404
    assert (await client.get("/fhir/Patient/p-1/$summary", headers=other)).status_code == 404


async def test_everything_holds_the_record_and_every_resource_validates(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/fhir/Patient/p-1/$everything")
    assert r.status_code == 200
    doc = r.json()
    validate(doc)
    found = _by_type(doc)
    assert len(found["Patient"]) == 1
    assert sorted(d["id"] for d in found["Device"]) == ["cuff-p-1", "glu-p-1"]
    assert len(found["Observation"]) == 4  # three BP, one glucose
    bp = [o for o in found["Observation"] if o["code"]["coding"][0]["code"] == "85354-9"]
    assert [c["valueQuantity"]["value"] for c in bp[-1]["component"][:2]] == [185, 122]
    assert {f["code"]["coding"][0]["code"] for f in found["Flag"]} >= {"bp.hypertensive_crisis"}
    assert [m["member"]["display"] for m in found["CareTeam"][0]["participant"]] == [
        "Dr Li", "Nurse Zhao",
    ]  # fmt: skip
    assert sorted(t["code"]["text"] for t in found["Task"]) == [
        "hypertension.routine", "type2_diabetes.routine",
    ]  # fmt: skip
    codes = {c["code"].get("coding", [{}])[0].get("code") for c in found["Condition"]}
    assert codes == {"38341003", "44054006", None}  # hypertension, T2DM, gout (text only)
    for e in doc["entry"]:  # every reference inside resolves within the Bundle's base
        assert e["fullUrl"].endswith(f"/{e['resource']['resourceType']}/{e['resource']['id']}")
    narrow = await client.get(
        "/fhir/Patient/p-1/$everything", params={"start": "2000-01-01", "end": "2000-01-02"}
    )
    assert "Observation" not in _by_type(narrow.json())
    bad = await client.get("/fhir/Patient/p-1/$everything", params={"start": "2000-01-01"})
    assert bad.status_code == 400  # more than the history range


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_summary_document_round_trips_in_both_languages(
    client: httpx.AsyncClient, lang: str
) -> None:
    r = await client.get("/fhir/Patient/p-1/$summary", params={"lang": lang})
    assert r.status_code == 200
    doc = r.json()
    parsed = validate(doc)  # export -> parse -> the same JSON
    assert (parsed.type, doc["language"]) == ("document", lang)
    comp = doc["entry"][0]["resource"]
    assert comp["resourceType"] == "Composition"
    assert comp["type"]["coding"][0]["code"] == "60591-5"
    sections = {s["code"]["coding"][0]["code"]: s for s in comp["section"]}
    assert list(sections) == ["11450-4", "10160-0", "48765-2", "8716-3", "30954-2", "104605-1"]
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in doc["entry"]}
    for s in comp["section"]:  # every section entry is in the document
        assert {x["reference"] for x in s.get("entry", [])} <= ids
        assert ("entry" in s) != ("emptyReason" in s)
    assert "emptyReason" in sections["48765-2"]  # no allergies recorded
    vitals = sections["8716-3"]["text"]["div"]
    assert "185/122 mmHg" in vitals
    assert ("above your target" if lang == "en" else "高于目标") in vitals
    assert "6.1 mmol/L" in sections["30954-2"]["text"]["div"]
    # The same data: the latest BP Observation in the document is the stored reading.
    obs = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"]
    bp = next(o for o in obs if o["code"]["coding"][0]["code"] == "85354-9")
    assert bp["identifier"][0] == {"system": "urn:hmg:t1:reading", "value": "cuff-p-1/3"}
    assert comp["title"] == ("患者健康摘要" if lang == "zh-CN" else "Patient summary")
    assert (await client.get("/fhir/Patient/p-1/$summary?lang=fr")).status_code == 422


async def test_consent_is_in_the_record_as_a_valid_r4_consent(client: httpx.AsyncClient) -> None:
    found = _by_type((await client.get("/fhir/Patient/p-1/$everything")).json())
    assert "Consent" not in found  # none recorded yet
    r = await client.put("/patients/p-1/consent", json={"status": "active", "note": "signed"})
    assert r.status_code == 200
    (c,) = _by_type((await client.get("/fhir/Patient/p-1/$everything")).json())["Consent"]
    validate(c)
    assert (c["status"], c["provision"]["type"]) == ("active", "permit")
    assert c["patient"] == {"reference": "Patient/p-1"}
    assert c["scope"]["coding"][0]["code"] == "patient-privacy"
    assert c["dateTime"][:16] == r.json()["recorded_at"][:16]
    await client.put("/patients/p-1/consent", json={"status": "withdrawn"})
    (w,) = _by_type((await client.get("/fhir/Patient/p-1/$everything")).json())["Consent"]
    validate(w)
    assert (w["id"], w["status"], w["provision"]["type"]) == (c["id"], "inactive", "deny")
