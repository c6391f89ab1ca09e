"""Clinicians' actions in the scaled-out roles: the API role hands each alert action to the
worker that owns the patient's partition, which applies it on its desk and answers.

- API side (`RoutedActions`, the API role's `ActionPath`): finds the alert in the store, sends
  an `ActionRequest` to `hmg.act.<partition>` (NATS request/reply) and waits for the owner's
  `ActionReply`. No worker listening, or a worker that refuses because it no longer owns the
  partition (or is handing it over): nothing was done, so it asks again, backing off, until
  `timeout_s` has passed, then raises `UnavailableError` (503). An owner that received the
  request but did not answer in time: `OwnerTimeoutError` (504), since the action may have been
  applied; the request carries its expiry, so an owner never applies it after that.
- Owner side (`PartitionActions`, one per owned partition): applies the request through the
  partition's own `gateway.flow.actions.Actions` (stored and audited once, by the worker whose
  desk runs the escalation timers), holding the partition's lock so that actions, detection and
  timers take turns; `close` (hand-over, lost lease) refuses new requests, then waits for the one
  being applied.

Reading (`alert`, `referral`) and referral state changes (`move_referral`, no desk involved) are
served from the stores by the API process itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from alerts.desk import AlertDesk
from alerts.emergency import Dispatch, Outcome
from alerts.model import Alert
from alerts.referral import Referral, ReferralState
from gateway.actor import Actor
from gateway.errors import (
    ActionError,
    ConflictError,
    InvalidError,
    NotFoundError,
    OwnerTimeoutError,
    UnavailableError,
)
from gateway.flow.actions import Actions, LiveView, ReferralRequest
from gateway.scale.action_wire import (
    Act,
    ActionReply,
    ActionRequest,
    AlertMsg,
    DispatchMsg,
    ReferralMsg,
    TimerMsg,
    Verdict,
    WireError,
    action_subject,
    read_reply,
)
from gateway.scale.partition import partition_of
from gateway.storage import AuditEntry, Stores

log = logging.getLogger(__name__)

# One request at a time per partition goes to one of its subscribers (two only overlap while a
# partition moves; the one that no longer owns it refuses and the API asks again).
QUEUE: Final = "hmg-owners"
_FIRST_RETRY_S: Final = 0.05
_MAX_RETRY_S: Final = 0.5


class RoutedActions:
    """The API role's action path (see module doc). `desk` is the API process's copy of the
    owners' desks: each answer is mirrored into it, so the timer the API shows after an
    escalation or a snooze is the owner's."""

    def __init__(
        self,
        nc: NatsClient,
        local: Actions,
        *,
        partitions: int,
        timeout_s: float,
        clock: Callable[[], datetime],
        view: LiveView | None = None,
    ) -> None:
        self.nc = nc
        self.local = local
        self.stores: Stores = local.stores
        self.desk: AlertDesk = local.desk
        self.partitions = partitions
        self.timeout_s = timeout_s
        self.clock = clock
        self.view = view

    # -- read from the stores -------------------------------------------------------------
    async def alert(self, alert_id: str, tenant: str) -> Alert:
        """The alert as its owner last stored it (owners store every change before answering
        or notifying); an alert of another tenant is not found."""
        a = await self.stores.alerts.get(alert_id)
        if a is None or a.tenant != tenant:
            raise NotFoundError("alert", alert_id)
        return a

    async def referral(self, referral_id: str, tenant: str) -> Referral:
        return await self.local.referral(referral_id, tenant)

    async def move_referral(
        self, actor: Actor, referral_id: str, to: ReferralState, note: str | None = None
    ) -> Referral:
        """A referral's own state lives in the store only (no desk, no timer)."""
        return await self.local.move_referral(actor, referral_id, to, note)

    # -- routed to the owner --------------------------------------------------------------
    async def acknowledge(self, actor: Actor, alert_id: str, comment: str | None = None) -> Alert:
        return (await self._route(Act.ACKNOWLEDGE, actor, alert_id, comment=comment)).alert

    async def resolve(
        self,
        actor: Actor,
        alert_id: str,
        comment: str | None = None,
        outcome: Outcome | None = None,
        hospital: str | None = None,
    ) -> Alert:
        done = await self._route(
            Act.RESOLVE, actor, alert_id, comment=comment, outcome=outcome, hospital=hospital
        )
        return done.alert

    async def dispatch(self, actor: Actor, alert_id: str, dispatch: Dispatch) -> Alert:
        done = await self._route(Act.DISPATCH, actor, alert_id, dispatch=DispatchMsg.of(dispatch))
        return done.alert

    async def arrive(self, actor: Actor, alert_id: str) -> Alert:
        return (await self._route(Act.ARRIVE, actor, alert_id)).alert

    async def escalate(self, actor: Actor, alert_id: str, comment: str | None = None) -> Alert:
        return (await self._route(Act.ESCALATE, actor, alert_id, comment=comment)).alert

    async def snooze(
        self, actor: Actor, alert_id: str, until: datetime, comment: str | None = None
    ) -> Alert:
        done = await self._route(Act.SNOOZE, actor, alert_id, until=until, comment=comment)
        return done.alert

    async def assign(self, actor: Actor, alert_id: str, assignee: str | None) -> Alert:
        alert = (await self._route(Act.ASSIGN, actor, alert_id, assignee=assignee)).alert
        if self.view is not None:
            self.view.show("assigned", alert.updated_at, alert, actor.user, {"assignee": assignee})
        return alert

    async def comment(self, actor: Actor, alert_id: str, text: str) -> AuditEntry:
        done = await self._route(Act.COMMENT, actor, alert_id, text=text)
        # The entry the owner appended (`gateway.flow.actions` audits a comment as its text).
        return AuditEntry.by(actor, done.at, Act.COMMENT.value, "alert", alert_id, {"text": text})

    async def refer(self, actor: Actor, alert_id: str, request: ReferralRequest) -> Referral:
        done = await self._route(Act.REFER, actor, alert_id, referral=ReferralMsg.of(request))
        if done.referral_id is None:
            raise UnavailableError(f"the owner of alert {alert_id} named no referral")
        return await self.local.referral(done.referral_id, actor.tenant)

    # -- the request ----------------------------------------------------------------------
    async def _route(self, act: Act, actor: Actor, alert_id: str, **fields: Any) -> _Done:
        a = await self.alert(alert_id, actor.tenant)  # not found: no request is sent
        partition = partition_of(a.tenant, a.patient_id, self.partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        expires = self.clock() + timedelta(seconds=self.timeout_s)
        request = ActionRequest.of(act, alert_id, actor, expires, **fields)
        subject, data = action_subject(partition), request.encode()
        why, pause = "no worker answers", _FIRST_RETRY_S
        while (left := deadline - loop.time()) > 0:
            if self.nc.is_connected:
                try:
                    msg = await self.nc.request(subject, data, timeout=left)
                except nats.errors.NoRespondersError:
                    why = "no worker owns it"
                except TimeoutError as exc:  # nats-py's own TimeoutError is one too
                    raise OwnerTimeoutError(
                        f"the worker owning partition {partition} did not answer {act.value} of "
                        f"alert {alert_id} within {self.timeout_s:g} s; it may have been "
                        "applied: read the alert before trying again"
                    ) from exc
                except nats.errors.Error as exc:
                    why = f"NATS: {exc!r}"
                else:
                    reply = read_reply(msg.data, request.request_id)
                    if reply.verdict is not Verdict.NOT_OWNER:
                        return self._answer(reply, partition)
                    why = f"worker {reply.worker} refused: {reply.detail}"
            else:
                why = "not connected to NATS"
            await asyncio.sleep(min(pause, max(deadline - loop.time(), 0.0)))
            pause = min(pause * 2, _MAX_RETRY_S)
        raise UnavailableError(
            f"{act.value} of alert {alert_id} not applied: partition {partition} has no owner "
            f"within {self.timeout_s:g} s ({why}); nothing was changed, try again"
        )

    def _answer(self, reply: ActionReply, partition: int) -> _Done:
        if reply.verdict is Verdict.DONE and reply.alert is not None and reply.at is not None:
            alert = reply.alert.alert()
            self.desk.mirror(alert, reply.timer.state() if reply.timer is not None else None)
            return _Done(alert, reply.at, reply.referral_id)
        if reply.verdict is Verdict.NOT_FOUND:
            raise NotFoundError(reply.kind or "alert", reply.key or "")
        if reply.verdict is Verdict.CONFLICT:
            raise ConflictError(reply.detail)
        if reply.verdict is Verdict.INVALID:
            raise InvalidError(reply.detail, reply.fields)
        raise UnavailableError(f"{reply.detail} (partition {partition}, worker {reply.worker})")


@dataclass(frozen=True, slots=True)
class _Done:
    alert: Alert
    at: datetime
    referral_id: str | None = None


# -- the owner's side ---------------------------------------------------------------------
Apply = Callable[[Actions, Actor, ActionRequest], Awaitable[_Done]]


async def _acknowledge(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    return _Done(await x.acknowledge(who, r.alert_id, r.comment), x.clock())


async def _resolve(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    return _Done(await x.resolve(who, r.alert_id, r.comment, r.outcome, r.hospital), x.clock())


async def _dispatch(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    assert r.dispatch is not None
    return _Done(await x.dispatch(who, r.alert_id, r.dispatch.dispatch()), x.clock())


async def _arrive(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    return _Done(await x.arrive(who, r.alert_id), x.clock())


async def _escalate(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    return _Done(await x.escalate(who, r.alert_id, r.comment), x.clock())


async def _snooze(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    assert r.until is not None  # ActionRequest checks what each act needs
    return _Done(await x.snooze(who, r.alert_id, r.until, r.comment), x.clock())


async def _assign(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    return _Done(await x.assign(who, r.alert_id, r.assignee), x.clock())


async def _comment(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    assert r.text is not None
    entry = await x.comment(who, r.alert_id, r.text)
    return _Done(await x.alert(r.alert_id, who.tenant), entry.at)


async def _refer(x: Actions, who: Actor, r: ActionRequest) -> _Done:
    assert r.referral is not None
    referral = await x.refer(who, r.alert_id, r.referral.request())
    return _Done(await x.alert(r.alert_id, who.tenant), referral.requested_at, referral.referral_id)


APPLY: Final[Mapping[Act, Apply]] = {
    Act.ACKNOWLEDGE: _acknowledge,
    Act.RESOLVE: _resolve,
    Act.ESCALATE: _escalate,
    Act.SNOOZE: _snooze,
    Act.ASSIGN: _assign,
    Act.COMMENT: _comment,
    Act.REFER: _refer,
    Act.DISPATCH: _dispatch,
    Act.ARRIVE: _arrive,
}


class PartitionActions:
    """The owner's side for one partition (see module doc). `owns` says whether this worker
    still holds the partition's lease; `lock` is the partition's, held while it analyses."""

    def __init__(
        self,
        nc: NatsClient,
        partition: int,
        partitions: int,
        actions: Actions,
        lock: asyncio.Lock,
        *,
        worker: str,
        owns: Callable[[], bool],
    ) -> None:
        self.nc = nc
        self.partition = partition
        self.partitions = partitions
        self.actions = actions
        self.lock = lock
        self.worker = worker
        self.owns = owns
        self.closing = False
        self.applied = 0
        self._sub: Subscription | None = None

    async def open(self) -> None:
        self._sub = await self.nc.subscribe(
            action_subject(self.partition), queue=QUEUE, cb=self._on_request
        )

    async def close(self) -> None:
        """Refuse from now on, let the action being applied finish, then stop listening: the
        next owner loads a store that holds every action this one answered."""
        self.closing = True
        async with self.lock:
            pass
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                await sub.drain()  # type: ignore[no-untyped-call]  # delivered ones: refused
            except nats.errors.Error:
                log.warning("partition %d: action subscription not drained", self.partition)

    async def _on_request(self, msg: Msg) -> None:
        reply = await self.handle(msg.data)
        if msg.reply:
            try:
                await msg.respond(reply.encode())
            except nats.errors.Error:
                log.warning("partition %d: answer to %s not sent", self.partition, msg.reply)

    async def handle(self, data: bytes) -> ActionReply:
        try:
            request = ActionRequest.decode(data)
        except WireError as exc:
            return ActionReply.refusal("", Verdict.INVALID, str(exc), self.worker)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        async with self.lock:
            refused = self._refusal(request)  # the partition may have moved meanwhile
            if refused is not None:
                return refused
            return await self._apply(request)

    def _refusal(self, r: ActionRequest) -> ActionReply | None:
        if self.closing or not self.owns():
            detail = f"worker {self.worker} is handing partition {self.partition} over"
            return ActionReply.refusal(r.request_id, Verdict.NOT_OWNER, detail, self.worker)
        if self.actions.clock() > r.expires_at:
            detail = f"came after its caller stopped waiting ({r.expires_at.isoformat()})"
            return ActionReply.refusal(r.request_id, Verdict.EXPIRED, detail, self.worker)
        return None

    async def _apply(self, r: ActionRequest) -> ActionReply:
        x, rid, who = self.actions, r.request_id, r.actor.actor()
        try:
            alert = await x.alert(r.alert_id, who.tenant)
            mine = partition_of(alert.tenant, alert.patient_id, self.partitions)
            if mine != self.partition:
                detail = (
                    f"alert {r.alert_id} belongs to partition {mine}, not {self.partition} "
                    "(do all roles use the same HMG_PARTITIONS?)"
                )
                return ActionReply.refusal(rid, Verdict.NOT_OWNER, detail, self.worker)
            done = await APPLY[r.act](x, who, r)
        except NotFoundError as exc:
            return ActionReply.refusal(
                rid, Verdict.NOT_FOUND, exc.detail, self.worker, kind=exc.kind, key=exc.key
            )
        except InvalidError as exc:
            return ActionReply.refusal(
                rid, Verdict.INVALID, exc.detail, self.worker, fields=exc.fields
            )
        except ActionError as exc:  # a conflict, or any refusal not named above
            return ActionReply.refusal(rid, Verdict.CONFLICT, exc.detail, self.worker)
        except Exception as exc:  # the store failed: nothing of the action was kept
            log.exception("partition %d: %s of %s not stored", self.partition, r.act, r.alert_id)
            detail = f"the owner could not store it ({type(exc).__name__}); nothing was kept"
            return ActionReply.refusal(rid, Verdict.UNAVAILABLE, detail, self.worker)
        self.applied += 1
        timer = x.desk.timer(r.alert_id)
        return ActionReply(
            request_id=rid,
            verdict=Verdict.DONE,
            worker=self.worker,
            at=done.at,
            alert=AlertMsg.of(done.alert),
            timer=TimerMsg.of(timer) if timer is not None else None,
            referral_id=done.referral_id,
        )
