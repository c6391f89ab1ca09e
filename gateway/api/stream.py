"""Live alert events for dashboards as Server-Sent Events (`GET /stream/alerts`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from gateway.api.deps import LiveDep
from gateway.api.limits import StreamSlots
from gateway.api.security import CurrentActor

router = APIRouter(prefix="/stream", tags=["stream"])


@router.get(
    "/alerts",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": (
                "`event: <type>` / `id: <delivery id>` / `data: <alert event JSON>` records"
            ),
        },
        429: {"description": "too many streams open for this user"},
    },
)
async def alert_stream(
    request: Request,
    live: LiveDep,
    actor: CurrentActor,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    heartbeat_s: Annotated[float, Query(ge=0.05, le=300)] = 15.0,
) -> StreamingResponse:
    """The caller's tenant's alert events as `event: <type>` / `data: <alert event JSON>`;
    reconnecting clients send `Last-Event-ID` and get what they missed (of their own tenant)
    from a bounded backlog. At most a few streams per user are open at once."""
    slots: StreamSlots = request.app.state.stream_slots
    if not slots.open(actor.user):
        raise HTTPException(429, "too many live streams open for this user")

    async def body() -> AsyncGenerator[str, None]:
        try:
            async for frame in live.stream(actor.tenant, last_event_id, heartbeat_s=heartbeat_s):
                yield frame
        finally:
            slots.close(actor.user)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
