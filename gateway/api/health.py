"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.deps import DatabaseDep, LinkDep, MetricsDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    """Whether the gateway can serve: database reachable, MQTT connected, messages in flight."""

    database: bool
    mqtt: bool
    queue: int


@router.get("/health")
async def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/ready", responses={503: {"model": ReadyOut, "description": "not ready"}})
async def ready(db: DatabaseDep, link: LinkDep, response: Response) -> ReadyOut:
    db_ok = True
    try:
        async with db.session() as s:
            await s.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        db_ok = False
    mqtt_ok = link is None or link.connected.is_set()
    if not (db_ok and mqtt_ok):
        response.status_code = 503
    return ReadyOut(database=db_ok, mqtt=mqtt_ok, queue=link.backlog if link else 0)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format",
        }
    },
)
async def prometheus(metrics: MetricsDep) -> Response:
    """This gateway's own metrics registry."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
