"""Rejected messages kept for inspection."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import GatewayDep
from gateway.api.schemas import DeadLetterOut

router = APIRouter(prefix="/deadletters", tags=["deadletters"])


@router.get("")
async def list_deadletters(
    gw: GatewayDep, tenant: str | None = None, reason: str | None = None, limit: int = 200
) -> list[DeadLetterOut]:
    rows = await gw.stores.deadletters.query(
        tenant=tenant or None, reason=reason or None, limit=limit
    )
    return [
        DeadLetterOut(
            id=r.id or 0,
            tenant=r.tenant,
            topic=r.topic,
            reason=r.reason,
            detail=r.detail,
            payload=r.payload.decode("utf-8", errors="replace"),
            received_at=r.received_at,
        )
        for r in rows
    ]
