"""Routed-action messages: domain values survive the wire, incomplete or damaged ones are
refused with a reason."""

from __future__ import annotations

import inspect
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.emergency import Dispatch
from alerts.escalation import EscalationState
from alerts.model import Alert, Priority, State
from gateway.actor import Actor, Role
from gateway.flow.actions import Actions, ReferralRequest
from gateway.scale.action_routing import APPLY, RoutedActions
from gateway.scale.action_wire import (
    Act,
    ActionReply,
    ActionRequest,
    ActorMsg,
    AlertMsg,
    DispatchMsg,
    ReferralMsg,
    TimerMsg,
    Verdict,
    WireError,
    action_subject,
)

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
DR = Actor("dr.wang", Role.CLINICIAN, "t1", "dashboard@10.0.0.7")


def test_alert_and_timer_round_trip_every_field() -> None:
    a = Alert(
        "a-1", "t1", "p-1", "bp.hypertensive_crisis", "bp.hypertensive_crisis", Priority.HIGH,
        State.ACKNOWLEDGED, T0, T0 + timedelta(minutes=2), T0, {"en": "crisis", "zh-CN": "危象"},
        {"reading": {"systolic": 195.0}}, False, "dr.wang", T0 + timedelta(minutes=2), None, 1, 3,
        "nurse.li",
    )  # fmt: skip
    assert AlertMsg.decode(AlertMsg.of(a).encode()).alert() == a
    t = EscalationState("a-1", "t1", "p-1", "g", Priority.HIGH, 2, T0, "ack_expired", 1,
                        frozenset({"lives_alone"}), "v1")  # fmt: skip
    assert TimerMsg.decode(TimerMsg.of(t).encode()).state() == t


def test_a_request_names_what_its_action_needs() -> None:
    with pytest.raises(ValidationError, match="snooze needs until"):
        ActionRequest.of(Act.SNOOZE, "a-1", DR, T0)
    with pytest.raises(ValidationError, match="refer needs referral"):
        ActionRequest.of(Act.REFER, "a-1", DR, T0)
    req = ActionRequest.of(Act.SNOOZE, "a-1", DR, T0, until=T0 + timedelta(minutes=30))
    assert ActionRequest.decode(req.encode()) == req
    assert b'"schema":"hmg.act/1"' in req.encode()


def test_damaged_messages_are_refused_with_a_reason() -> None:
    with pytest.raises(WireError, match="ActionRequest"):
        ActionRequest.decode(b'{"schema": "hmg.act/2"}')
    with pytest.raises(WireError):
        ActionReply.decode(b"\xff")
    with pytest.raises(ValidationError, match="carries the alert"):
        ActionReply(request_id="r", verdict=Verdict.DONE)
    with pytest.raises(ValidationError):  # the actor's role is one of the roles
        ActionRequest.model_validate(
            {**ActionRequest.of(Act.RESOLVE, "a-1", DR, T0).model_dump(), "actor": {
                "user": "x", "role": "root", "tenant": "t1"}}
        )  # fmt: skip
    assert action_subject(7) == "hmg.act.7"


@pytest.mark.parametrize(
    ("message", "value"),
    [
        (AlertMsg, Alert),
        (TimerMsg, EscalationState),
        (ActorMsg, Actor),
        (DispatchMsg, Dispatch),
        (ReferralMsg, ReferralRequest),
    ],
)
def test_each_message_carries_every_field_of_its_value(message: type[Any], value: type) -> None:
    """A field added to a domain value must travel too (else the owner's answer drops it)."""
    assert set(message.model_fields) == {f.name for f in fields(value)}


def test_every_action_of_the_action_path_is_routed() -> None:
    """A new clinician's action in `Actions` must reach the owner in the API role too."""
    local = {n for n, f in vars(Actions).items() if inspect.iscoroutinefunction(f) and n[0] != "_"}
    routed = {n for n, f in vars(RoutedActions).items() if inspect.iscoroutinefunction(f)}
    assert local <= routed
    assert set(APPLY) == set(Act)
