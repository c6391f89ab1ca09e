"""FastAPI dependencies as `Annotated` aliases: each route names the parts it uses, never the
whole gateway.

- `ActionsDep`: the clinicians' action path (check, desk transition, store with its audit row,
  notify); in the scaled-out API role it routes to the partitions' owners.
- `ReadsDep`: the read side (`gateway.api.reads.Reads`), scoped to the caller's tenant.
- `AdminDep`, `ConsultDep`, `ConsentDep`, `FollowupsDep`, `LiveDep` (the dashboard's event
  stream): the write paths outside the alert desk.
- `DatabaseDep`, `LinkDep`, `MetricsDep`: what the readiness probe and `/metrics` look at.

Who acts is `gateway.api.security.CurrentActor`: the verified token, never a header or body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.admin import Admin
from gateway.api.reads import Reads
from gateway.consult import Consultations
from gateway.fhir.consent import ConsentParts
from gateway.flow.actions import ActionPath
from gateway.followup.desk import FollowupDesk
from gateway.link.ingest import MqttIngest
from gateway.metrics import Metrics
from gateway.notifiers import SseChannel
from gateway.runtime.service import Gateway
from gateway.runtime.wiring import Runtime
from gateway.storage import Database


def _runtime(request: Request) -> Runtime:
    """The running service's parts (no route takes the gateway whole)."""
    gw: Gateway = request.app.state.gateway
    return gw.runtime


def get_actions(request: Request) -> ActionPath:
    return _runtime(request).actions


def get_reads(request: Request) -> Reads:
    rt = _runtime(request)
    return Reads(
        stores=rt.stores,
        readings=rt.readings,
        registry=rt.registry,
        timer=rt.desk.timer,
        policy=rt.desk.escalator.policy,
        targets=rt.book.targets_for,
        now=rt.clock,
    )


def get_admin(request: Request) -> Admin:
    return _runtime(request).admin


def get_consult(request: Request) -> Consultations:
    return _runtime(request).consult


def get_live(request: Request) -> SseChannel:
    return _runtime(request).sse


def get_consent_parts(request: Request) -> ConsentParts:
    """The stores, the platform push and the clock: the runtime's own."""
    return _runtime(request)


def get_database(request: Request) -> Database:
    return _runtime(request).db


def get_link(request: Request) -> MqttIngest | None:
    """The MQTT link, while the single gateway runs one (None in the other roles)."""
    return _runtime(request).ingest


def get_metrics(request: Request) -> Metrics:
    return _runtime(request).metrics


def get_followups(request: Request) -> FollowupDesk:
    return _runtime(request).followups


ActionsDep = Annotated[ActionPath, Depends(get_actions)]
ReadsDep = Annotated[Reads, Depends(get_reads)]
AdminDep = Annotated[Admin, Depends(get_admin)]
ConsultDep = Annotated[Consultations, Depends(get_consult)]
LiveDep = Annotated[SseChannel, Depends(get_live)]
ConsentDep = Annotated[ConsentParts, Depends(get_consent_parts)]
FollowupsDep = Annotated[FollowupDesk, Depends(get_followups)]
DatabaseDep = Annotated[Database, Depends(get_database)]
LinkDep = Annotated[MqttIngest | None, Depends(get_link)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
