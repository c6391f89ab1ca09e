"""Referrals: list, one referral, its FHIR R4 ServiceRequest, and its state changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from alerts.referral import Referral, ReferralState, ReferralTransitionError, to_fhir, transition
from devices.timeparse import format_ts
from gateway.api.deps import GatewayDep
from gateway.storage import AuditEntry

router = APIRouter(prefix="/referrals", tags=["referrals"])


class ReferralActionIn(BaseModel):
    by: str = Field(min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=4000)


def referral_json(r: Referral) -> dict[str, Any]:
    return {
        "referral_id": r.referral_id,
        "alert_id": r.alert_id,
        "tenant": r.tenant,
        "patient_id": r.patient_id,
        "state": r.state.value,
        "target_org": r.target_org,
        "department": r.department,
        "reason": r.reason,
        "urgency": r.urgency.value,
        "green_channel": r.green_channel,
        "requested_by": r.requested_by,
        "requested_at": format_ts(r.requested_at),
        "updated_by": r.updated_by,
        "updated_at": format_ts(r.updated_at) if r.updated_at else None,
        "note": r.note,
        "evidence": dict(r.evidence),
    }


@router.get("")
async def list_referrals(
    gw: GatewayDep,
    alert_id: str | None = None,
    patient_id: str | None = None,
    state: ReferralState | None = None,
) -> list[dict[str, Any]]:
    rows = await gw.stores.referrals.query(alert_id=alert_id, patient_id=patient_id, state=state)
    return [referral_json(r) for r in rows]


async def _get(gw: GatewayDep, referral_id: str) -> Referral:
    r = await gw.stores.referrals.get(referral_id)
    if r is None:
        raise HTTPException(404, f"referral {referral_id!r} not found")
    return r


@router.get("/{referral_id}")
async def get_referral(gw: GatewayDep, referral_id: str) -> dict[str, Any]:
    return referral_json(await _get(gw, referral_id))


@router.get("/{referral_id}/fhir")
async def get_referral_fhir(gw: GatewayDep, referral_id: str) -> dict[str, Any]:
    """The referral as a FHIR R4 ServiceRequest resource."""
    return to_fhir(await _get(gw, referral_id))


@router.post("/{referral_id}/{action}")
async def act(
    gw: GatewayDep,
    request: Request,
    referral_id: str,
    action: str,
    body: ReferralActionIn,
    user: Annotated[str | None, Header(alias="X-HMG-User")] = None,
) -> dict[str, Any]:
    to = {
        "accept": ReferralState.ACCEPTED,
        "complete": ReferralState.COMPLETED,
        "decline": ReferralState.DECLINED,
    }.get(action)
    if to is None:
        raise HTTPException(404, f"unknown referral action {action!r}")
    r = await _get(gw, referral_id)
    by, now = user or body.by, gw.clock()
    try:
        new = transition(r, to, by, now, body.note)
    except ReferralTransitionError as exc:
        raise HTTPException(409, str(exc)) from exc
    await gw.stores.referrals.save(new)
    client = request.headers.get("X-HMG-Client") or request.headers.get("user-agent")
    detail = {"state": to.value, "note": body.note}
    await gw.stores.audit.append(
        AuditEntry(now, by, client, action, "referral", referral_id, detail)
    )
    return referral_json(new)
