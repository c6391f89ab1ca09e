"""Remote ECG consultation in the service: requests, the centre's worklist, reports back.

Every step takes the verified actor, checks what it may see (a clinician: the requests of their
tenant; a cardiologist: the requests sent to their centre, whose id is their token's tenant;
anything else is "not found"), applies the pure step (`alerts.consult`), and stores the request,
the alert desk's events and timers, their notifications and the audit row in one transaction;
the notifications go out once it is committed.

The desk does the clock's work: a request opens a `consult.request` alert in the centre's
tenant that escalates by the centre's policy (`alerts.consult.escalation_policy`) until the
report is final; the report opens a `consult.report` alert for the requester's tenant on the
elder (high priority when critical), resolved by the requester's read-back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from alerts.consult import (
    ALERT_PRIORITY,
    CODE,
    REPORT_CODE,
    Centre,
    ConsultError,
    ConsultPriority,
    ConsultRequest,
    Reading,
    Turnaround,
    amend,
    claim,
    confirm_receipt,
    escalation_policy,
    finding,
    propose_priority,
    release,
    sign,
    turnaround,
)
from alerts.desk import ActionRefusedError, AlertDesk
from alerts.model import AlertCandidate, Priority
from alerts.outcome import DeskResult
from devices.model import PatientKey
from gateway.actor import Actor, Role
from gateway.consult.window import alert_window, snapshot
from gateway.errors import ConflictError, InvalidError, NotFoundError
from gateway.flow.ports import AlertOutbox
from gateway.storage import AlertRecord, AuditEntry, ReadingStore, Stores, Transaction
from gateway.storage.consults import ConsultStore, StaleRequestError


class Consultations:
    def __init__(
        self,
        stores: Stores,
        desk: AlertDesk,
        outbox: AlertOutbox,
        readings: ReadingStore,
        clock: Callable[[], datetime],
    ) -> None:
        self.stores, self.desk, self.outbox = stores, desk, outbox
        self.readings, self.clock = readings, clock
        self.store = ConsultStore(stores.db)
        self._serial = asyncio.Lock()

    async def load(self) -> None:
        """The centres' escalation policies, before the desk takes over its stored timers."""
        for c in await self.store.centres():
            self.desk.escalator.policies[c.centre_id] = escalation_policy(c)

    # -- centres --------------------------------------------------------------------------
    async def save_centre(self, actor: Actor, centre: Centre) -> Centre:
        """A centre's administrator (of the centre's own tenant) sets its roster and policy."""
        if actor.role is not Role.ADMIN or actor.tenant != centre.centre_id:
            raise NotFoundError("centre", centre.centre_id)
        now = self.clock()
        entry = AuditEntry.by(
            actor, now, "consult.centre", "centre", centre.centre_id,
            after={"cardiologists": list(centre.cardiologists), "lead": centre.lead,
                   "senders": sorted(centre.senders)},
        )  # fmt: skip
        async with self.stores.transaction() as tx:
            await self.store.save_centre(centre, now, tx=tx)
            await self.stores.audit.append(entry, tx=tx)
        self.desk.escalator.policies[centre.centre_id] = escalation_policy(centre)
        return centre

    async def centres_for(self, tenant: str) -> list[Centre]:
        return [c for c in await self.store.centres() if tenant in c.senders]

    # -- who sees what --------------------------------------------------------------------
    async def visible(self, actor: Actor, request_id: str, ecg: bool = True) -> ConsultRequest:
        q = await self.store.get(request_id, ecg=ecg)
        if q is None or not _sees(actor, q):
            raise NotFoundError("consultation", request_id)
        return q

    async def listing(
        self, actor: Actor, patient_id: str | None = None, alert_id: str | None = None
    ) -> list[ConsultRequest]:
        """A cardiologist: the centre's worklist (open first by deadline, then the rest);
        a clinician: the tenant's requests (of a patient or an alert)."""
        if actor.role is Role.CARDIOLOGIST:
            found = await self.store.query(centre_id=actor.tenant, patient_id=patient_id)
            return sorted(found, key=lambda q: (q.status.reported, q.due_at))
        return await self.store.query(tenant=actor.tenant, patient_id=patient_id, alert_id=alert_id)

    async def previous(self, actor: Actor, q: ConsultRequest) -> list[ConsultRequest]:
        """Earlier reported requests of the same elder that the actor may see."""
        found = await self.store.query(tenant=q.tenant, patient_id=q.patient_id)
        return [
            p for p in found
            if p.request_id != q.request_id and p.report is not None and _sees(actor, p)
            and p.requested_at <= q.requested_at
        ]  # fmt: skip

    # -- the requester --------------------------------------------------------------------
    async def request(
        self,
        actor: Actor,
        patient_id: str,
        *,
        question: str,
        alert_id: str | None = None,
        centre_id: str | None = None,
        window: tuple[datetime, datetime, str | None] | None = None,
        priority: ConsultPriority | None = None,
    ) -> ConsultRequest:
        patient = PatientKey(actor.tenant, patient_id)
        if await self.stores.patients.get_patient(patient) is None:
            raise NotFoundError("patient", patient_id)
        if alert_id is not None:
            alert = await self.stores.alerts.get(alert_id, tenant=actor.tenant)
            if alert is None or alert.patient_id != patient_id:
                raise NotFoundError("alert", alert_id)
            window = window or alert_window(alert)
        if window is None:
            raise InvalidError("an ECG window is needed (start and end)", ("start", "end"))
        centres = [c for c in await self.centres_for(actor.tenant)
                   if centre_id in (None, c.centre_id)]  # fmt: skip
        if not centres:
            raise NotFoundError("centre", centre_id or "(none sends for this tenant)")
        centre = centres[0]
        ecg = await snapshot(self.readings, patient, *window)
        if ecg is None:
            raise NotFoundError("ECG window", f"{window[0].isoformat()}..{window[1].isoformat()}")
        known_af = any(
            "atrial_fibrillation" in (p.report.findings if p.report else ())
            for p in await self.store.query(tenant=actor.tenant, patient_id=patient_id)
        )
        proposed = propose_priority(ecg.episodes, ecg.fs, known_af=known_af)
        asked = priority or proposed
        if asked.rank < proposed.rank:
            raise InvalidError("the priority may be raised, never lowered", ("priority",))
        now = self.clock()
        rid = str(uuid.uuid4())
        due = now + centre.deadline(asked)
        q = ConsultRequest(
            rid, centre.centre_id, actor.tenant, patient_id, alert_id, asked, proposed,
            question.strip(), actor.user, now, due, ecg, updated_at=now,
            history=({"step": "request", "by": actor.user, "at": now.isoformat()},),
        )  # fmt: skip
        candidate = AlertCandidate(
            f"consult-{rid[:8]}", CODE, now, priority=ALERT_PRIORITY[asked], group=rid,
            params={"priority": asked.value, "priority_zh": _ZH[asked], "tenant": actor.tenant,
                    "due": due.strftime("%H:%M UTC")},
            evidence={"consult": {"request_id": rid, "tenant": actor.tenant,
                                  "due_at": due.isoformat()}},
        )  # fmt: skip
        result = self.desk.observe([candidate], now, tenant=centre.centre_id)
        opened = next((e.alert.alert_id for e in result.events), None)
        q = replace(q, escalation_id=opened)
        await self._commit(actor, q, "consult.request", result, None)
        return q

    async def _confirm(self, actor: Actor, request_id: str) -> ConsultRequest:
        q = await self.visible(actor, request_id, ecg=False)
        if actor.role is not Role.CLINICIAN:
            raise NotFoundError("consultation", request_id)
        new = self._step(lambda: confirm_receipt(q, actor.user, self.clock()))
        result = self._resolve(q.report_alert_id, actor)
        return await self._commit(actor, new, "consult.receipt", result, q)

    # -- the centre -----------------------------------------------------------------------
    async def _claim(self, actor: Actor, request_id: str) -> ConsultRequest:
        q = await self._reader_view(actor, request_id)
        centre = await self._centre(q)
        new = self._step(lambda: claim(q, actor.user, self.clock(), centre.lease))
        return await self._commit(actor, new, "consult.claim", DeskResult(), q)

    async def _release(self, actor: Actor, request_id: str) -> ConsultRequest:
        q = await self._reader_view(actor, request_id)
        new = self._step(lambda: release(q, actor.user, self.clock()))
        return await self._commit(actor, new, "consult.release", DeskResult(), q)

    async def _report(
        self, actor: Actor, request_id: str, reading: Reading, *, amending: bool = False
    ) -> ConsultRequest:
        """Sign the report as final (or amend the signed one): the centre's alert is resolved,
        and the requester's tenant hears of it through its own alert and channels."""
        q = await self._reader_view(actor, request_id)
        now = self.clock()
        step = amend if amending else sign
        new = self._step(lambda: step(q, actor.user, now, reading))
        result = self._resolve(q.escalation_id, actor) if not amending else DeskResult()
        summary = "; ".join(finding(c).en for c in reading.findings) or reading.text[:80]
        back = AlertCandidate(
            q.patient_id, REPORT_CODE, now,
            priority=Priority.HIGH if reading.critical else Priority.LOW,
            group=f"{REPORT_CODE}:{q.request_id}:{new.report.version if new.report else 1}",
            params={"by": actor.user, "summary": summary},
            evidence={"consult": {"request_id": q.request_id, "critical": reading.critical,
                                  "status": new.status.value}},
        )  # fmt: skip
        told = self.desk.observe([back], now, tenant=q.tenant)
        if q.report_alert_id is not None:  # an amendment replaces the earlier notice
            told = self._resolve(q.report_alert_id, actor).then(told)
        opened = next((e.alert.alert_id for e in told.events if e.alert.code == REPORT_CODE
                       and e.alert.active), None)  # fmt: skip
        new = replace(new, report_alert_id=opened)
        verb = "consult.amend" if amending else "consult.final"
        return await self._commit(actor, new, verb, result.then(told), q)

    async def figures(self, actor: Actor) -> list[Turnaround]:
        """The centre's turnaround per priority (a cardiologist: their centre; a clinician: the
        centres their tenant sends to, over their own tenant's requests)."""
        now = self.clock()
        if actor.role is Role.CARDIOLOGIST:
            return turnaround(actor.tenant, await self.store.query(centre_id=actor.tenant), now)
        out: list[Turnaround] = []
        mine = await self.store.query(tenant=actor.tenant, limit=10_000)
        for c in await self.centres_for(actor.tenant):
            out += turnaround(c.centre_id, [q for q in mine if q.centre_id == c.centre_id], now)
        return out

    # -- one step at a time per process (a second claim sees the first; the stored request is
    # also checked to be the one the step read, under a row lock where the database has one)
    async def confirm(self, actor: Actor, request_id: str) -> ConsultRequest:
        async with self._serial:
            return await self._confirm(actor, request_id)

    async def claim(self, actor: Actor, request_id: str) -> ConsultRequest:
        async with self._serial:
            return await self._claim(actor, request_id)

    async def release(self, actor: Actor, request_id: str) -> ConsultRequest:
        async with self._serial:
            return await self._release(actor, request_id)

    async def report(
        self, actor: Actor, request_id: str, reading: Reading, *, amending: bool = False
    ) -> ConsultRequest:
        async with self._serial:
            return await self._report(actor, request_id, reading, amending=amending)

    # -- internals ------------------------------------------------------------------------
    async def _reader_view(self, actor: Actor, request_id: str) -> ConsultRequest:
        if actor.role is not Role.CARDIOLOGIST:
            raise NotFoundError("consultation", request_id)
        return await self.visible(actor, request_id, ecg=False)

    async def _centre(self, q: ConsultRequest) -> Centre:
        c = await self.store.centre(q.centre_id)
        if c is None:
            raise NotFoundError("centre", q.centre_id)
        return c

    def _step(self, step: Callable[[], ConsultRequest]) -> ConsultRequest:
        try:
            return step()
        except ConsultError as exc:
            raise ConflictError(exc.reason) from exc
        except ValueError as exc:
            raise InvalidError(str(exc)) from exc

    def _resolve(self, alert_id: str | None, actor: Actor) -> DeskResult:
        alert = self.desk.find(alert_id) if alert_id else None
        if alert is None:
            return DeskResult()
        by = Actor(actor.user, actor.role, alert.tenant, actor.client)
        try:
            done = self.desk.resolve(alert.alert_id, by, self.clock())
        except ActionRefusedError:
            return DeskResult()
        return DeskResult(done.events, done.timers)

    async def _commit(
        self,
        actor: Actor,
        q: ConsultRequest,
        verb: str,
        result: DeskResult,
        before: ConsultRequest | None,
    ) -> ConsultRequest:
        entry = AuditEntry.by(
            actor, self.clock(), verb, "consultation", q.request_id,
            {"patient": q.patient_id, "tenant": q.tenant, "centre": q.centre_id},
            before=_brief(before) if before else None, after=_brief(q),
        )  # fmt: skip

        async def save_request(tx: Transaction) -> None:
            await self.store.save(q, tx=tx, expect=before)

        record = AlertRecord(
            at=self.clock(),
            events=result.events,
            timers=result.timers,
            client=actor.client or None,
            audit=(entry,),
        )
        try:
            await self.outbox.record(record, also=save_request)
        except StaleRequestError as exc:
            self.desk.unsaved(result.timers)
            raise ConflictError("the request changed meanwhile: reload it") from exc
        except Exception:
            self.desk.unsaved(result.timers)
            raise
        return q


_ZH = {
    ConsultPriority.STAT: "紧急",
    ConsultPriority.URGENT: "加急",
    ConsultPriority.ROUTINE: "常规",
}


def _sees(actor: Actor, q: ConsultRequest) -> bool:
    if actor.role is Role.CARDIOLOGIST:
        return q.centre_id == actor.tenant
    return actor.role is Role.CLINICIAN and q.tenant == actor.tenant


def _brief(q: ConsultRequest) -> dict[str, object]:
    return {
        "status": q.status.value,
        "priority": q.priority.value,
        "claimed_by": q.claimed_by,
        "report_version": q.report.version if q.report else None,
        "receipt_by": q.receipt_by,
    }
