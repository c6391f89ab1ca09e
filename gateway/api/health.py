"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(gw: GatewayDep, response: Response) -> dict[str, object]:
    db_ok = True
    try:
        async with gw.db.session() as s:
            await s.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        db_ok = False
    mqtt_ok = gw.ingest is None or gw.ingest.connected.is_set()
    if not (db_ok and mqtt_ok):
        response.status_code = 503
    return {
        "database": db_ok,
        "mqtt": mqtt_ok,
        "queue": gw.ingest.backlog if gw.ingest else 0,
    }


@router.get("/metrics")
async def prometheus() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
