"""The API through its ASGI app, for tests: a client, and a stored alert to act on.

async with client(app, auth_headers(app)) as c:
    await c.get("/queue")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import httpx
from fastapi import FastAPI

from alerts.model import Alert, Priority, State


def client(app: FastAPI, headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
    """An HTTP client of `app` (no network), sending `headers` with every request."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=dict(headers or {})
    )


def crisis_alert(alert_id: str, tenant: str, patient_id: str, at: datetime) -> Alert:
    """An open hypertensive-crisis alert opened at `at`."""
    return Alert(
        alert_id=alert_id, tenant=tenant, patient_id=patient_id, code="bp.hypertensive_crisis",
        group="bp.hypertensive_crisis", priority=Priority.HIGH, state=State.OPEN, opened_at=at,
        updated_at=at, source_ts=at, message={"en": "crisis", "zh-CN": "危象"}, evidence={},
    )  # fmt: skip
