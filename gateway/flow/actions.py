"""Clinicians' actions: the one path every action on an alert or a referral takes.

Whoever asks (the API today, the dashboard and emergency calls through it), an action goes:

1. **transition**: the alert desk applies the action to its live copy of the actor's tenant's
   alert (`alerts.desk.AlertDesk`) and says what it did: the alert as it is now, the lifecycle
   events, the escalation timers it moved, what it held before. If the desk holds no such
   alert, the stored alerts tell an unknown one (or another tenant's) from a resolved one;
2. **persist**: the events, the timers, what else the action changes (an assignment, a referral)
   and the action's audit entry, in one transaction: all of it or none of it;
3. **notify**: the lifecycle events go to the notification channels, only once stored (the
   alert outbox does both, `gateway.notifiers.outbox.OutboxSender.record`).

Bookkeeping actions (comment, assign, snooze) produce no lifecycle event: they are audited and
never notified. A refused action raises `gateway.errors.ConflictError` (or `NotFoundError`),
which the API answers with 409 (404). Administrators' actions have the same shape in
`gateway.admin`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from alerts.desk import ActionRefusedError, ActionResult, AlertDesk, NotHeldError
from alerts.emergency import Dispatch, Outcome
from alerts.model import Alert
from alerts.referral import (
    Referral,
    ReferralState,
    ReferralTransitionError,
    Urgency,
    referral_id_for,
    transition,
)
from gateway.actor import Actor
from gateway.errors import ConflictError, InvalidError, NotFoundError
from gateway.evidence import referral_evidence
from gateway.flow.ports import AlertOutbox
from gateway.storage import AuditEntry, ReadingStore, Stores, Transaction
from gateway.storage.record import AlertRecord, Write

log = logging.getLogger(__name__)

# The audit trail's name for each referral state change.
_REFERRAL_VERBS: dict[ReferralState, str] = {
    ReferralState.ACCEPTED: "accept",
    ReferralState.DECLINED: "decline",
    ReferralState.COMPLETED: "complete",
}


class LiveView(Protocol):
    """Open dashboards: they see bookkeeping changes at once, though nobody is notified."""

    def show(
        self, kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ReferralRequest:
    """What a clinician asks for when referring a patient to a hospital."""

    target_org: str
    department: str
    reason: str
    urgency: Urgency = Urgency.URGENT
    green_channel: bool = False
    evidence_hours: float = 24.0


class ActionPath(Protocol):
    """What the API calls for a clinician's action (the seam): the local `Actions` in the single
    gateway; in the scaled-out API role, `gateway.scale.action_routing.RoutedActions`, which
    hands each alert action to the worker that owns the patient's partition and answers once
    that worker has applied it."""

    async def alert(self, alert_id: str, tenant: str) -> Alert: ...

    async def referral(self, referral_id: str, tenant: str) -> Referral: ...

    async def acknowledge(
        self, actor: Actor, alert_id: str, comment: str | None = None
    ) -> Alert: ...

    async def resolve(
        self,
        actor: Actor,
        alert_id: str,
        comment: str | None = None,
        outcome: Outcome | None = None,
        hospital: str | None = None,
    ) -> Alert: ...

    async def dispatch(self, actor: Actor, alert_id: str, dispatch: Dispatch) -> Alert: ...

    async def arrive(self, actor: Actor, alert_id: str) -> Alert: ...

    async def escalate(self, actor: Actor, alert_id: str, comment: str | None = None) -> Alert: ...

    async def refer(self, actor: Actor, alert_id: str, request: ReferralRequest) -> Referral: ...

    async def comment(self, actor: Actor, alert_id: str, text: str) -> AuditEntry: ...

    async def assign(self, actor: Actor, alert_id: str, assignee: str | None) -> Alert: ...

    async def snooze(
        self, actor: Actor, alert_id: str, until: datetime, comment: str | None = None
    ) -> Alert: ...

    async def move_referral(
        self, actor: Actor, referral_id: str, to: ReferralState, note: str | None = None
    ) -> Referral: ...


async def review(stores: Stores, actor: Actor, alert_id: str, now: datetime) -> Alert:
    """A clinician has seen a serious alert that cleared before anyone acted on it: it leaves
    the queue's "resolved, not reviewed" list. Stored with its audit row in one transaction; the
    desk is not involved (the alert is over), so any process may take it."""
    entry = AuditEntry.by(actor, now, "review", "alert", alert_id)
    async with stores.transaction() as tx:
        if not await stores.alerts.review(actor.tenant, alert_id, actor.user, now, tx=tx):
            raise NotFoundError("alert to review", alert_id)  # rolls the audit entry back
        await stores.audit.append(entry, tx=tx)
    reviewed = await stores.alerts.get(alert_id)
    assert reviewed is not None
    return reviewed


class Actions:
    """The clinicians' actions over the alert desk, the stores and the alert outbox."""

    def __init__(
        self,
        *,
        desk: AlertDesk,
        stores: Stores,
        readings: ReadingStore,
        outbox: AlertOutbox,
        clock: Callable[[], datetime],
        view: LiveView | None = None,
    ) -> None:
        self.desk = desk
        self.stores = stores
        self.readings = readings
        self.outbox = outbox
        self.clock = clock
        self.view = view

    # -- the subject ----------------------------------------------------------------------
    async def alert(self, alert_id: str, tenant: str) -> Alert:
        """The alert as it is: the desk's live copy while active, else the stored one; an
        alert of another tenant is not found."""
        a = self.desk.find(alert_id) or await self.stores.alerts.get(alert_id)
        if a is None or a.tenant != tenant:
            raise NotFoundError("alert", alert_id)
        return a

    async def referral(self, referral_id: str, tenant: str) -> Referral:
        """The referral, if it belongs to `tenant` (another tenant's is not found)."""
        r = await self.stores.referrals.get(referral_id)
        if r is None or r.tenant != tenant:
            raise NotFoundError("referral", referral_id)
        return r

    # -- lifecycle actions ----------------------------------------------------------------
    async def acknowledge(self, actor: Actor, alert_id: str, comment: str | None = None) -> Alert:
        """Someone is on it: escalation stops (the acknowledging clinician is assigned if
        nobody was)."""
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.acknowledge(alert_id, actor, now)
        )
        return await self._commit(done, comment)

    async def resolve(
        self,
        actor: Actor,
        alert_id: str,
        comment: str | None = None,
        outcome: Outcome | None = None,
        hospital: str | None = None,
    ) -> Alert:
        """Resolve by hand; an emergency call names its `outcome`, and one taken to hospital
        (`hospital`: where to) opens a referral with the evidence, stored with the resolution."""
        if outcome is Outcome.TAKEN_TO_HOSPITAL:
            if not hospital:
                raise InvalidError("taken to hospital: name the hospital", ("hospital",))
            a = await self.alert(alert_id, actor.tenant)
            request = ReferralRequest(
                target_org=hospital,
                department="Emergency",
                reason=f"{a.message.get('en', a.code)}: taken to hospital",
                urgency=Urgency.STAT,
                green_channel=True,
            )
            referral = await self._referral(a, actor, request)
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.resolve(alert_id, actor, now, outcome)
        )
        if outcome is not Outcome.TAKEN_TO_HOSPITAL:
            return await self._commit(done, comment)
        return await self._commit(done, comment, self._saving(referral))

    async def dispatch(self, actor: Actor, alert_id: str, dispatch: Dispatch) -> Alert:
        """Help sent to an emergency call: who, and when they are expected on site."""
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.dispatch(alert_id, actor, now, dispatch)
        )
        return await self._commit(done, None)

    async def arrive(self, actor: Actor, alert_id: str) -> Alert:
        """Help is at the elder's home (confirmed on the page)."""
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.arrive(alert_id, actor, now)
        )
        return await self._commit(done, None)

    async def escalate(self, actor: Actor, alert_id: str, comment: str | None = None) -> Alert:
        """Move to the next tier of the escalation policy now."""
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.escalate(alert_id, actor, now)
        )
        return await self._commit(done, comment)

    async def refer(self, actor: Actor, alert_id: str, request: ReferralRequest) -> Referral:
        """Refer the patient to a hospital: the referral (with its evidence, frozen now) and
        the alert's hand-over are stored together."""
        a = await self.alert(alert_id, actor.tenant)
        if not a.active:
            raise ConflictError(f"alert {alert_id} is resolved")
        referral = await self._referral(a, actor, request)
        now = referral.requested_at
        done = await self._decide(
            actor, alert_id, lambda _: self.desk.refer(alert_id, actor, now, referral.referral_id)
        )
        await self._commit(done, None, self._saving(referral))
        return referral

    def _saving(self, referral: Referral) -> Write:
        """The referral's write, into the action's transaction."""

        async def save(tx: Transaction) -> None:
            await self.stores.referrals.save(referral, tx=tx)

        return save

    async def _referral(self, a: Alert, actor: Actor, request: ReferralRequest) -> Referral:
        """A referral of the alert's patient, with its evidence frozen now."""
        now = self.clock()
        return Referral(
            referral_id=referral_id_for(a.alert_id, now),
            alert_id=a.alert_id,
            tenant=a.tenant,
            patient_id=a.patient_id,
            target_org=request.target_org,
            department=request.department,
            reason=request.reason,
            urgency=request.urgency,
            green_channel=request.green_channel,
            requested_by=actor.user,
            requested_at=now,
            evidence=await referral_evidence(self.readings, a, now, request.evidence_hours),
        )

    # -- bookkeeping actions --------------------------------------------------------------
    async def comment(self, actor: Actor, alert_id: str, text: str) -> AuditEntry:
        """A note on the alert (resolved or not); it changes nothing but the audit trail."""
        a = await self.alert(alert_id, actor.tenant)
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.comment(a, actor, now, text)
        )
        return await self._store(done, None)  # no event: nothing to notify

    async def assign(self, actor: Actor, alert_id: str, assignee: str | None) -> Alert:
        """Who looks after the alert (None: nobody). Not a lifecycle event: nobody is notified
        (an assignment neither worsens nor changes the alert), the audit trail keeps it and the
        open dashboards see it (`assigned` on the live view)."""
        a = await self.alert(alert_id, actor.tenant)
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.assign(a, actor, now, assignee)
        )

        async def save_assignment(tx: Transaction) -> None:
            await self.stores.alerts.assign(alert_id, assignee, actor.user, done.at, tx=tx)

        alert = await self._commit(done, None, save_assignment)
        if self.view is not None:
            self.view.show("assigned", alert.updated_at, alert, actor.user, {"assignee": assignee})
        return alert

    async def snooze(
        self, actor: Actor, alert_id: str, until: datetime, comment: str | None = None
    ) -> Alert:
        """Put notification off until `until` (the alert stays as it is, unacknowledged)."""
        done = await self._decide(
            actor, alert_id, lambda now: self.desk.snooze(alert_id, actor, now, until)
        )
        return await self._commit(done, comment)

    # -- referrals ------------------------------------------------------------------------
    async def move_referral(
        self, actor: Actor, referral_id: str, to: ReferralState, note: str | None = None
    ) -> Referral:
        """The hospital's answer (accepted, declined) or the referral's completion."""
        r = await self.referral(referral_id, actor.tenant)
        now = self.clock()
        try:
            new = transition(r, to, actor.user, now, note)
        except ReferralTransitionError as exc:
            raise ConflictError(str(exc)) from exc
        detail = {"state": to.value, "note": note}
        entry = AuditEntry.by(actor, now, _REFERRAL_VERBS[to], "referral", referral_id, detail)
        async with self.stores.transaction() as tx:
            await self.stores.referrals.save(new, tx=tx)
            await self.stores.audit.append(entry, tx=tx)
        return new

    # -- the path -------------------------------------------------------------------------
    async def _decide(
        self, actor: Actor, alert_id: str, act: Callable[[datetime], ActionResult]
    ) -> ActionResult:
        """Step 1 of the module doc: the desk's transition, in one call. If the desk holds no
        active alert of that id for the actor's tenant, the stored one says why: unknown or
        another tenant's (`NotFoundError`), or over (`ConflictError`)."""
        try:
            return act(self.clock())
        except NotHeldError as exc:
            await self.alert(alert_id, actor.tenant)
            raise ConflictError(f"alert {alert_id} is resolved") from exc
        except ActionRefusedError as exc:
            raise ConflictError(exc.detail) from exc

    async def _commit(
        self, done: ActionResult, comment: str | None, write: Write | None = None
    ) -> Alert:
        """Steps 2 and 3 of the module doc for one desk result."""
        await self._store(done, comment, write)
        return done.alert

    async def _store(
        self, done: ActionResult, comment: str | None, write: Write | None = None
    ) -> AuditEntry:
        """The action's events, timers, audit row and notifications as one alert record (one
        transaction, with `write` first), the notifications sent once it is committed; the
        audit row comes back."""
        entry = _entry(done, comment)
        record = AlertRecord(
            at=self.clock(),
            events=done.events,
            timers=done.timers,
            client=done.actor.client or None,
            audit=(entry,),
        )
        try:
            await self.outbox.record(record, also=write)
        except Exception:
            # Nothing of the action is stored and nobody is told: the desk goes back to what it
            # held (an acknowledgement that was not recorded must not stop the escalation).
            self.desk.unsaved(done.timers)
            if done.held.alert is not None:
                timers = [done.held.timer] if done.held.timer is not None else []
                self.desk.load([done.held.alert], timers)
            log.exception("could not store %s of alert %s", done.act.value, done.alert.alert_id)
            raise
        return entry


def _entry(done: ActionResult, comment: str | None) -> AuditEntry:
    """The audit entry of a desk action: what the desk noted, the events it produced, and the
    clinician's comment if any."""
    detail: dict[str, Any] = dict(done.note)
    if done.events:
        detail["events"] = [e.event.value for e in done.events]
    return AuditEntry.by(
        done.actor, done.at, done.act.value, "alert", done.alert.alert_id, detail, comment=comment
    )
