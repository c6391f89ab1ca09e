"""Live alert events for dashboards as Server-Sent Events (`GET /stream/alerts`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from gateway.api.deps import GatewayDep

router = APIRouter(prefix="/stream", tags=["stream"])


@router.get(
    "/alerts",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`event: <type>` / `id: <n>` / `data: <alert event JSON>` records",
        }
    },
)
async def alert_stream(
    gw: GatewayDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    heartbeat_s: float = 15.0,
) -> StreamingResponse:
    """Every alert event as `event: <type>` / `data: <alert event JSON>`; reconnecting
    clients send `Last-Event-ID` and get what they missed from a bounded backlog."""
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    return StreamingResponse(
        gw.sse.stream(last, heartbeat_s=max(heartbeat_s, 0.05)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
