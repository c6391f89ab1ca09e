"""Rejected messages kept for inspection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.api.deps import ReadsDep
from gateway.api.paging import CursorParam, int_key, page
from gateway.api.schemas import MAX_LIST, DeadLetterOut
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/deadletters", tags=["deadletters"])


@router.get("")
async def list_deadletters(
    request: Request,
    response: Response,
    reads: ReadsDep,
    actor: CurrentActor,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 200,
    cursor: CursorParam = None,
) -> list[DeadLetterOut]:
    """The caller's tenant's rejected messages, newest first; more pages through
    `Link: rel="next"`."""
    found = await reads.stores.deadletters.query(
        tenant=actor.tenant,
        reason=reason or None,
        limit=limit + 1,
        before_id=int_key(cursor),
    )
    rows = page(request, response, found, limit, lambda r: (r.id or 0,))
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
