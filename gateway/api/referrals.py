"""Referrals: list, one referral, its FHIR R4 ServiceRequest, and its state changes (through
`gateway.flow.actions`, audited under the actor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from alerts.referral import ReferralState, to_fhir
from gateway.api.alert_models import ReferralActionIn, ReferralOut
from gateway.api.deps import ActionsDep, ReadsDep
from gateway.api.paging import CursorParam, page, time_cursor, time_key
from gateway.api.schemas import MAX_LIST, ServiceRequestOut
from gateway.api.security import CurrentActor
from gateway.errors import NotFoundError

router = APIRouter(prefix="/referrals", tags=["referrals"])

# The state each action moves a referral to.
ACTIONS = {
    "accept": ReferralState.ACCEPTED,
    "complete": ReferralState.COMPLETED,
    "decline": ReferralState.DECLINED,
}


@router.get("")
async def list_referrals(
    request: Request,
    response: Response,
    reads: ReadsDep,
    actor: CurrentActor,
    alert_id: str | None = None,
    patient_id: str | None = None,
    state: ReferralState | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 200,
    cursor: CursorParam = None,
) -> list[ReferralOut]:
    """The caller's tenant's referrals, newest first; more pages through `Link: rel="next"`."""
    found = await reads.stores.referrals.query(
        tenant=actor.tenant,
        alert_id=alert_id,
        patient_id=patient_id,
        state=state,
        limit=limit + 1,
        after=time_key(cursor),
    )
    shown = page(
        request, response, found, limit, lambda r: time_cursor(r.requested_at, r.referral_id)
    )
    return [ReferralOut.of(r) for r in shown]


@router.get("/{referral_id}")
async def get_referral(actions: ActionsDep, actor: CurrentActor, referral_id: str) -> ReferralOut:
    return ReferralOut.of(await actions.referral(referral_id, actor.tenant))


@router.get("/{referral_id}/fhir")
async def get_referral_fhir(
    actions: ActionsDep, actor: CurrentActor, referral_id: str
) -> ServiceRequestOut:
    """The referral as a FHIR R4 ServiceRequest resource."""
    r = await actions.referral(referral_id, actor.tenant)
    return ServiceRequestOut.model_validate(to_fhir(r))


@router.post("/{referral_id}/{action}")
async def act(
    actions: ActionsDep, actor: CurrentActor, referral_id: str, action: str, body: ReferralActionIn
) -> ReferralOut:
    """`accept`, `decline` or `complete` the referral."""
    to = ACTIONS.get(action)
    if to is None:
        raise NotFoundError("referral action", action)
    return ReferralOut.of(await actions.move_referral(actor, referral_id, to, body.note))
