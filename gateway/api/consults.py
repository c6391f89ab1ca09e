"""Remote ECG consultation: centres, requests, the centre's worklist, reports and read-back.

A clinician asks and reads the answer within their tenant; a cardiologist (whose token's tenant
is their centre) sees only the requests sent to that centre. Anything else is "not found".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alerts.consult import MAX_WINDOW, Reading
from gateway.actor import Role
from gateway.api.consult_models import (
    CentreIn,
    CentreOut,
    ConsultOut,
    FigureOut,
    FindingOut,
    ReportIn,
    RequestIn,
    findings,
)
from gateway.api.deps import ConsultDep, ReadsDep
from gateway.api.fhir_record import FhirBundleDocOut, FhirJSON
from gateway.api.security import CurrentActor
from gateway.consult.fhir import exchange
from gateway.consult.printview import print_page
from gateway.errors import InvalidError

router = APIRouter(prefix="/consult", tags=["consultation"])


@router.get("/centres")
async def list_centres(consult: ConsultDep, actor: CurrentActor) -> list[CentreOut]:
    """A clinician: the centres their tenant sends to (no roster); the centre's own staff: it."""
    if actor.role is Role.CLINICIAN:
        return [CentreOut.of(c, roster=False) for c in await consult.centres_for(actor.tenant)]
    c = await consult.store.centre(actor.tenant)
    return [CentreOut.of(c)] if c is not None else []


@router.put("/centres/{centre_id}")
async def put_centre(
    consult: ConsultDep, actor: CurrentActor, centre_id: str, body: CentreIn
) -> CentreOut:
    """The centre's administrator sets its roster, lead, senders and deadlines."""
    try:
        centre = body.centre(centre_id)
    except ValueError as exc:
        raise InvalidError(str(exc)) from exc
    return CentreOut.of(await consult.save_centre(actor, centre))


@router.get("/findings")
async def list_findings() -> list[FindingOut]:
    """The coded findings a report picks from, with their SNOMED CT concepts."""
    return findings()


@router.get("/figures")
async def figures(consult: ConsultDep, actor: CurrentActor) -> list[FigureOut]:
    """Turnaround per centre and priority: time to claim, to final, share within deadline."""
    return [FigureOut.of(t) for t in await consult.figures(actor)]


@router.post("/requests", status_code=201)
async def create_request(consult: ConsultDep, actor: CurrentActor, body: RequestIn) -> ConsultOut:
    window = None
    if body.start is not None or body.end is not None:
        if body.start is None or body.end is None:
            raise InvalidError("give both start and end, or neither", ("start", "end"))
        window = (body.start, body.end, body.device_id)
        if not body.start < body.end <= body.start + MAX_WINDOW:
            raise InvalidError("the window is at most 10 minutes", ("start", "end"))
    q = await consult.request(
        actor, body.patient_id, question=body.question, alert_id=body.alert_id,
        centre_id=body.centre_id, window=window, priority=body.priority,
    )  # fmt: skip
    return ConsultOut.of(q)


@router.get("/requests")
async def list_requests(
    consult: ConsultDep,
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str | None = None,
    alert_id: str | None = None,
) -> list[ConsultOut]:
    """A cardiologist: the centre's worklist by deadline; a clinician: the tenant's requests."""
    now = reads.now()
    found = await consult.listing(actor, patient_id, alert_id)
    return [ConsultOut.of(q, now=now) for q in found]


@router.get("/requests/{request_id}")
async def get_request(
    consult: ConsultDep, reads: ReadsDep, actor: CurrentActor, request_id: str
) -> ConsultOut:
    """One request with its ECG window and the elder's previous readings."""
    q = await consult.visible(actor, request_id)
    out = ConsultOut.of(q, ecg=True, now=reads.now())
    out.previous = [ConsultOut.of(p) for p in await consult.previous(actor, q)]
    return out


@router.get("/requests/{request_id}/fhir", response_model=FhirBundleDocOut, response_class=FhirJSON)
async def get_fhir(
    request: Request, consult: ConsultDep, actor: CurrentActor, request_id: str
) -> FhirJSON:
    """The exchange in FHIR R4: ServiceRequest, Task, ECG Observation (SampledData), the
    measurements, DiagnosticReport and Communications, as a `collection` Bundle."""
    q = await consult.visible(actor, request_id)
    return FhirJSON(exchange(q, f"{str(request.base_url).rstrip('/')}/fhir"))


@router.get("/requests/{request_id}/print", response_class=HTMLResponse)
async def get_print(consult: ConsultDep, actor: CurrentActor, request_id: str) -> HTMLResponse:
    """The printable report, the strip at true scale (A4 landscape)."""
    return HTMLResponse(print_page(await consult.visible(actor, request_id)))


@router.post("/requests/{request_id}/claim")
async def claim(consult: ConsultDep, actor: CurrentActor, request_id: str) -> ConsultOut:
    return ConsultOut.of(await consult.claim(actor, request_id))


@router.post("/requests/{request_id}/release")
async def release(consult: ConsultDep, actor: CurrentActor, request_id: str) -> ConsultOut:
    return ConsultOut.of(await consult.release(actor, request_id))


@router.post("/requests/{request_id}/report")
async def report(
    consult: ConsultDep, actor: CurrentActor, request_id: str, body: ReportIn
) -> ConsultOut:
    """Sign the report as final (the holder of the claim)."""
    return ConsultOut.of(await consult.report(actor, request_id, _reading(body)))


@router.post("/requests/{request_id}/amend")
async def amend(
    consult: ConsultDep, actor: CurrentActor, request_id: str, body: ReportIn
) -> ConsultOut:
    """A new version of the signed report; the earlier one is kept."""
    return ConsultOut.of(await consult.report(actor, request_id, _reading(body), amending=True))


@router.post("/requests/{request_id}/receipt")
async def receipt(consult: ConsultDep, actor: CurrentActor, request_id: str) -> ConsultOut:
    """The requester confirms receipt of the report (read-back of a critical result)."""
    return ConsultOut.of(await consult.confirm(actor, request_id))


def _reading(body: ReportIn) -> Reading:
    try:
        return body.reading()
    except ValueError as exc:
        raise InvalidError(str(exc)) from exc
