"""The FastAPI application; its lifespan owns the gateway (MQTT client, pipeline, timers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway.api import (
    alerts,
    audit,
    auth,
    charts,
    consults,
    deadletters,
    devices,
    emergencies,
    errors,
    fhir,
    fhir_record,
    followups,
    glycaemia,
    health,
    history,
    notices,
    patients,
    queue,
    referrals,
    rosters,
    stream,
)
from gateway.api.docs import mount_docs
from gateway.api.limits import BodyLimit, RateLimiter, StreamSlots
from gateway.api.security import guard
from gateway.auth.authority import Authority, Owner
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Role, Runtime
from gateway.storage.accounts import AccountStore
from gateway.storage.audit import AuditEntry
from gateway.web import mount_dashboard


def authority_for(rt: Runtime) -> Authority:
    """The access authority of a runtime: its accounts, keys and audit trail."""

    async def audit(
        action: str, name: str, peer: str, detail: Mapping[str, Any], owner: Owner | None
    ) -> None:
        entry = AuditEntry(
            at=rt.clock(),
            actor=name,
            role=owner.role if owner else None,
            tenant=owner.tenant if owner else None,
            client=peer,
            action=action,
            subject_type="account",
            subject_id=name,
            detail=detail,
        )
        await rt.stores.audit.append(entry)

    return Authority.from_settings(rt.settings, AccountStore(rt.db), audit, clock=rt.clock)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """422 with where and why, never the submitted values (no echo of bodies or secrets)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors[:20]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


ROUTERS = (
    health.router,
    auth.router,
    patients.router,
    devices.router,
    alerts.router,
    emergencies.router,
    deadletters.router,
    history.router,
    notices.router,
    audit.router,
    referrals.router,
    rosters.router,
    stream.router,
    fhir.router,
    fhir_record.router,
    followups.router,
    glycaemia.router,
    charts.router,
    queue.router,
    consults.router,
)


def create_app(
    settings: Settings | None = None,
    *,
    gateway: Gateway | None = None,
    mqtt: bool = True,
    detection: bool = True,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the app. Pass `gateway` to serve one that the caller starts and stops itself;
    `on_started` runs once the owned gateway has started (the entry point's process settings).
    `detection=False` (the scaled-out API role) serves the stores without ingest or timers."""
    owned = gateway is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        role = Role.GATEWAY if detection else Role.API
        gw = gateway or Gateway(settings or Settings(), role=role)
        if owned:
            await gw.start(mqtt=mqtt and detection, detection=detection)
            if on_started is not None:
                on_started()
        app.state.gateway = gw
        if gateway is None:
            app.state.auth = authority_for(gw.runtime)
        try:
            yield
        finally:
            if owned:
                await gw.stop()

    app = FastAPI(
        title="hmg: remote health-monitoring gateway",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from the gateway's own assets (`gateway.api.docs`), no CDN
        redoc_url=None,
        dependencies=[Depends(guard)],  # every route, deny by default (`gateway.api.policy`)
    )
    limits = (gateway.runtime.settings if gateway is not None else settings) or Settings()
    app.state.rate_limiter = RateLimiter(limits.api.rate_per_minute, limits.api.rate_burst)
    app.state.stream_slots = StreamSlots(limits.api.streams_per_user)
    app.add_middleware(BodyLimit, max_bytes=limits.api.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    errors.install(app)
    mount_docs(app)
    mount_dashboard(app)
    if gateway is not None:
        app.state.gateway = gateway
        app.state.auth = authority_for(gateway.runtime)
    return app
