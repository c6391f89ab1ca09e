"""Routed actions on the wire: what the API role asks the worker that owns a patient's
partition to do, and what that worker answers (NATS request/reply on `hmg.act.<partition>`).

Both directions are pydantic models (the wire is an edge); the domain values they carry (`Actor`,
`Alert`, `EscalationState`, `ReferralRequest`) come out as the frozen dataclasses the action path
takes. The actor travels whole (user, role, tenant, client): the owner records it in the audit
trail exactly as the API verified it.

>>> from gateway.actor import Actor, Role
>>> from datetime import UTC, datetime
>>> dr = Actor("dr.wang", Role.CLINICIAN, "t1", "dashboard@10.0.0.7")
>>> req = ActionRequest.of(Act.ACKNOWLEDGE, "a-1", dr, datetime(2026, 12, 1, tzinfo=UTC))
>>> ActionRequest.decode(req.encode()) == req
True
>>> ActionRequest.decode(req.encode()).actor.actor() == dr
True
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.emergency import Dispatch, Outcome, Responder
from alerts.escalation import EscalationState
from alerts.model import Alert, Priority, State
from alerts.outcome import Act
from alerts.referral import Urgency
from gateway.actor import Actor, Role
from gateway.errors import UnavailableError
from gateway.flow.actions import ReferralRequest

__all__ = [
    "ACT_PREFIX",
    "Act",
    "ActionReply",
    "ActionRequest",
    "ActorMsg",
    "AlertMsg",
    "DispatchMsg",
    "ReferralMsg",
    "TimerMsg",
    "Verdict",
    "WireError",
    "action_subject",
]

ACT_PREFIX: Final = "hmg.act"


def action_subject(partition: int) -> str:
    """The subject the owner of `partition` answers actions on."""
    return f"{ACT_PREFIX}.{partition}"


class WireError(ValueError):
    """A routed-action message that cannot be read (another schema, or damaged)."""


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, data: bytes) -> Self:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise WireError(f"unreadable {cls.__name__}: {exc.error_count()} error(s)") from exc


class ActorMsg(_Msg):
    user: str = Field(min_length=1, max_length=128)
    role: Role
    tenant: str = Field(min_length=1, max_length=128)
    client: str = Field(default="", max_length=256)

    @classmethod
    def of(cls, a: Actor) -> ActorMsg:
        return cls(user=a.user, role=a.role, tenant=a.tenant, client=a.client)

    def actor(self) -> Actor:
        return Actor(self.user, self.role, self.tenant, self.client)


class ReferralMsg(_Msg):
    target_org: str
    department: str
    reason: str
    urgency: Urgency
    green_channel: bool
    evidence_hours: float = Field(gt=0)

    @classmethod
    def of(cls, r: ReferralRequest) -> ReferralMsg:
        return cls(
            target_org=r.target_org,
            department=r.department,
            reason=r.reason,
            urgency=r.urgency,
            green_channel=r.green_channel,
            evidence_hours=r.evidence_hours,
        )

    def request(self) -> ReferralRequest:
        return ReferralRequest(
            self.target_org,
            self.department,
            self.reason,
            self.urgency,
            self.green_channel,
            self.evidence_hours,
        )


class DispatchMsg(_Msg):
    responder: Responder
    name: str = Field(min_length=1)
    contact: str | None
    expected_at: AwareDatetime
    brief: dict[str, Any] | None = None

    @classmethod
    def of(cls, d: Dispatch) -> DispatchMsg:
        brief = dict(d.brief) if d.brief is not None else None
        return cls(
            responder=d.responder, name=d.name, contact=d.contact, expected_at=d.expected_at,
            brief=brief,
        )  # fmt: skip

    def dispatch(self) -> Dispatch:
        return Dispatch(self.responder, self.name, self.contact, self.expected_at, self.brief)


# What each action needs beyond the alert and the actor (declared once, checked on both sides).
NEEDS: Final[Mapping[Act, tuple[str, ...]]] = {
    Act.SNOOZE: ("until",),
    Act.COMMENT: ("text",),
    Act.REFER: ("referral",),
    Act.DISPATCH: ("dispatch",),
}


class ActionRequest(_Msg):
    """One clinician's action on one alert, for the owner of the alert's partition.

    `expires_at`: the API stops waiting then; an owner that receives the request later refuses
    it rather than apply an action whose caller was already told it failed.
    """

    schema_: Literal["hmg.act/1"] = Field(default="hmg.act/1", alias="schema")
    request_id: str = Field(min_length=1, max_length=64)
    act: Act
    alert_id: str = Field(min_length=1, max_length=256)
    actor: ActorMsg
    expires_at: AwareDatetime
    comment: str | None = None
    text: str | None = None
    until: AwareDatetime | None = None
    assignee: str | None = None
    referral: ReferralMsg | None = None
    outcome: Outcome | None = None  # how an emergency call ended (resolve)
    hospital: str | None = None  # where it was taken (resolve, taken_to_hospital)
    dispatch: DispatchMsg | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _complete(self) -> ActionRequest:
        missing = [f for f in NEEDS.get(self.act, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{self.act.value} needs {', '.join(missing)}")
        return self

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def of(
        cls, act: Act, alert_id: str, actor: Actor, expires_at: datetime, **fields: Any
    ) -> ActionRequest:
        return cls(
            request_id=uuid.uuid4().hex,
            act=act,
            alert_id=alert_id,
            actor=ActorMsg.of(actor),
            expires_at=expires_at,
            **fields,
        )


class AlertMsg(_Msg):
    """Every field of `alerts.model.Alert` (the fixed JSON contract leaves some out)."""

    alert_id: str
    tenant: str
    patient_id: str
    code: str
    group: str
    priority: Priority
    state: State
    opened_at: AwareDatetime
    updated_at: AwareDatetime
    source_ts: AwareDatetime
    message: dict[str, str]
    evidence: dict[str, Any]
    technical: bool
    acknowledged_by: str | None
    acknowledged_at: AwareDatetime | None
    resolved_at: AwareDatetime | None
    escalation_tier: int
    updates: int
    assignee: str | None

    @classmethod
    def of(cls, a: Alert) -> AlertMsg:
        return cls(
            alert_id=a.alert_id,
            tenant=a.tenant,
            patient_id=a.patient_id,
            code=a.code,
            group=a.group,
            priority=a.priority,
            state=a.state,
            opened_at=a.opened_at,
            updated_at=a.updated_at,
            source_ts=a.source_ts,
            message=dict(a.message),
            evidence=dict(a.evidence),
            technical=a.technical,
            acknowledged_by=a.acknowledged_by,
            acknowledged_at=a.acknowledged_at,
            resolved_at=a.resolved_at,
            escalation_tier=a.escalation_tier,
            updates=a.updates,
            assignee=a.assignee,
        )

    def alert(self) -> Alert:
        return Alert(**{name: getattr(self, name) for name in type(self).model_fields})


class TimerMsg(_Msg):
    """Every field of `alerts.escalation.EscalationState`."""

    alert_id: str
    tenant: str
    patient_id: str
    group: str
    priority: Priority
    tier: int
    due_at: AwareDatetime | None
    reason: str
    repeats: int
    flags: frozenset[str]
    policy_version: str

    @classmethod
    def of(cls, t: EscalationState) -> TimerMsg:
        return cls(
            alert_id=t.alert_id,
            tenant=t.tenant,
            patient_id=t.patient_id,
            group=t.group,
            priority=t.priority,
            tier=t.tier,
            due_at=t.due_at,
            reason=t.reason,
            repeats=t.repeats,
            flags=t.flags,
            policy_version=t.policy_version,
        )

    def state(self) -> EscalationState:
        return EscalationState(**{name: getattr(self, name) for name in type(self).model_fields})


class Verdict(enum.StrEnum):
    """How the owner answered. `done`: applied, stored and audited once. `not_found`,
    `conflict`, `invalid`: refused, as the single gateway would (404, 409, 422; `fields` names
    the invalid input). `not_owner`:
    this worker does not (or no longer) own the partition, or is handing it over; nothing was
    done and the API asks again. `expired`: the request came after its caller stopped waiting.
    `unavailable`: the owner could not store the action (nothing of it was kept)."""

    DONE = "done"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    NOT_OWNER = "not_owner"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"


class ActionReply(_Msg):
    """The owner's answer: the alert as it now is (and its escalation timer), or a refusal.

    `at` is when the owner applied the action (the audit entry's time); `referral_id` the
    referral a `refer` created; `kind`/`key` name what was not found.
    """

    schema_: Literal["hmg.act.reply/1"] = Field(default="hmg.act.reply/1", alias="schema")
    request_id: str
    verdict: Verdict
    detail: str = ""
    worker: str = ""
    at: AwareDatetime | None = None
    alert: AlertMsg | None = None
    timer: TimerMsg | None = None
    referral_id: str | None = None
    kind: str | None = None
    key: str | None = None
    fields: tuple[str, ...] = ()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _complete(self) -> ActionReply:
        if self.verdict is Verdict.DONE and (self.alert is None or self.at is None):
            raise ValueError("a done reply carries the alert and the time it was applied")
        return self

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def refusal(
        cls, request_id: str, verdict: Verdict, detail: str, worker: str = "", **fields: Any
    ) -> ActionReply:
        return cls(request_id=request_id, verdict=verdict, detail=detail, worker=worker, **fields)


def read_reply(data: bytes, request_id: str) -> ActionReply:
    """The owner's answer to `request_id`; an unreadable one or another request's is no answer."""
    try:
        reply = ActionReply.decode(data)
    except WireError as exc:
        raise UnavailableError(f"unreadable answer from the owner: {exc}") from exc
    if reply.request_id != request_id:
        raise UnavailableError("the owner answered another request")
    return reply
