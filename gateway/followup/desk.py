"""The follow-up desk: brings every elder's plan up to date, escalates what is overdue, and
records a follow-up done — each change with its audit row, in one transaction.

`step` runs every `interval_s` (and can be driven on virtual time: it reads the clock it is given).
An overdue task is escalated once to the lead of the elder's family-doctor team (the team member
whose roster role is `lead`, else the team's first member).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.roster import Roster
from devices.kinds import Kind
from devices.model import PatientKey
from gateway.actor import Actor, system_actor
from gateway.errors import NotFoundError
from gateway.followup.notify import (
    CHANNEL,
    LeadChannel,
    escalation_entry,
    failing_alert,
)
from gateway.followup.rules import BP_FIELDS, FollowupRules, plan, routine_rule, to_escalate
from gateway.followup.settings import FollowupSettings
from gateway.notifiers.outbox import OutboxSender
from gateway.runtime.jobs import Job, JobParts, raise_later, run_job
from gateway.storage.audit import AuditEntry
from gateway.storage.followups import FollowupTask
from gateway.storage.outbox import OutboxEntry
from gateway.storage.patients import Patient
from gateway.storage.readings import SqlReadingStore, ValueSummary

__all__ = ["FollowupDesk", "StepResult", "team_lead"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepResult:
    created: int = 0
    escalated: int = 0


def team_lead(roster: Roster, team_id: str | None) -> str | None:
    team = roster.teams.get(team_id or "")
    if team is None or not team.members:
        return None
    leads = [m for m in team.members if m in roster.members and roster.members[m].role == "lead"]
    return leads[0] if leads else team.members[0]


NO_BP = ValueSummary.of([], BP_FIELDS)


def _audit(actor: Actor, t: FollowupTask, action: str, now: datetime) -> AuditEntry:
    return AuditEntry.by(
        actor, now, action, "patient", t.patient_id,
        {"task_id": t.task_id, "rule": t.rule, "due_at": t.due_at.isoformat(),
         "escalated_to": t.escalated_to},
    )  # fmt: skip


# The most BP readings of one elder a plan looks at where the store cannot summarise them itself.
BP_LIMIT = 2000
# Elders planned between two yields to the event loop (a sweep never holds up a reading).
SWEEP_SLICE = 100


class _Sweep:
    """What one step reads for every elder: per tenant, its tasks in one query and, when the
    readings store summarises in the database (SQL), every elder's BP of the last
    `uncontrolled_days` in one grouped query; else one elder at a time."""

    def __init__(self, desk: FollowupDesk, now: datetime) -> None:
        self.desk = desk
        self.now = now
        self.batched = isinstance(desk.readings, SqlReadingStore)
        self._tasks: dict[str, dict[str, list[FollowupTask]]] = {}
        self._bp: dict[str, dict[str, ValueSummary]] = {}

    async def of(self, p: Patient, rules: FollowupRules) -> tuple[list[FollowupTask], ValueSummary]:
        if not self.batched:
            return await self.desk._read(p, rules, self.now)
        if p.tenant not in self._tasks:
            self._tasks[p.tenant] = await self.desk.store.by_patient(p.tenant)
            self._bp[p.tenant] = await self.desk._bp(p.tenant, None, rules, self.now)
        bp = self._bp[p.tenant].get(p.patient_id, NO_BP)
        return self._tasks[p.tenant].get(p.patient_id, []), bp


class FollowupDesk(Job):
    """Elders' follow-up plans over the stores, against each elder's targets; a lead nobody
    could be told of an overdue task raises a technical alert through `raise_now`."""

    def __init__(self, settings: FollowupSettings, parts: JobParts) -> None:
        super().__init__(parts)
        self.settings = settings
        self.store = parts.stores.followups
        # The team lead hears of an overdue follow-up through the outbox (`followup` channel).
        self.sender = OutboxSender(
            parts.stores.outbox,
            {CHANNEL: LeadChannel(parts.personal, parts.stores.rosters.roster)},
            log_deliveries=True,
            on_failing=self._failing,
            clock=parts.clock,
            max_backoff_s=600.0,
            per_entry=True,  # a lead nobody can reach holds up no other team's lead
        )
        self._background: set[asyncio.Task[None]] = set()

    async def step(self) -> StepResult:
        """Add the tasks every elder's plan calls for now; escalate overdue tasks.

        The sweep reads every elder's tasks and recent BP in a few queries (`_Sweep`); an elder
        whose plan then calls for a change is read again on its own before anything is written,
        so a task a clinician completed meanwhile is never overwritten from the sweep's copy."""
        now = self.clock()
        created = escalated = 0
        rosters: dict[str, Roster] = {}
        sweep = _Sweep(self, now)
        for i, p in enumerate(await self.stores.patients.patients()):
            if i % SWEEP_SLICE == SWEEP_SLICE - 1:
                await asyncio.sleep(0)
            rules = self.settings.rules_for(p.tenant)
            tasks, bp = await sweep.of(p, rules)
            new = plan(p, tasks, bp, self.targets_for(p.key), rules, now)
            late = to_escalate(tasks, rules, now)
            if (new or late) and sweep.batched:
                tasks, bp = await self._read(p, rules, now)
                new = plan(p, tasks, bp, self.targets_for(p.key), rules, now)
                late = to_escalate(tasks, rules, now)
            if late and p.tenant not in rosters:
                rosters[p.tenant] = await self.stores.rosters.roster(p.tenant)
            lead = team_lead(rosters[p.tenant], p.care_team) if late else None
            raised = [replace(t, escalated_at=now, escalated_to=lead) for t in late]
            if not new and not raised:
                continue
            actor = system_actor(p.tenant, "followup")
            told = [escalation_entry(t, now) for t in raised if t.escalated_to]
            async with self.stores.transaction() as tx:
                for t in new:
                    await self.store.put(t, tx=tx)
                    await self.stores.audit.append(_audit(actor, t, "followup.plan", now), tx=tx)
                for t in raised:
                    await self.store.put(t, tx=tx)
                    entry = _audit(actor, t, "followup.escalate", now)
                    await self.stores.audit.append(entry, tx=tx)
                stored = await self.stores.outbox.add(told, now, tx=tx)
            self.sender.hand(stored)
            created += len(new)
            escalated += len(raised)
        return StepResult(created, escalated)

    async def _read(
        self, p: Patient, rules: FollowupRules, now: datetime
    ) -> tuple[list[FollowupTask], ValueSummary]:
        """One elder's tasks and BP over the last `uncontrolled_days`."""
        tasks = await self.store.query(p.tenant, patient_id=p.patient_id)
        bp = await self._bp(p.tenant, p.patient_id, rules, now)
        return tasks, bp.get(p.patient_id, NO_BP)

    async def _bp(
        self, tenant: str, patient_id: str | None, rules: FollowupRules, now: datetime
    ) -> dict[str, ValueSummary]:
        """BP over the last `uncontrolled_days`: of one elder, or (SQL) of every elder of
        `tenant`."""
        since = now - timedelta(days=rules.uncontrolled_days)
        readings = self.readings
        if isinstance(readings, SqlReadingStore):
            return await readings.summaries(tenant, Kind.BP, BP_FIELDS, since, now, patient_id)
        assert patient_id is not None
        mine = await readings.query(PatientKey(tenant, patient_id), Kind.BP, since, now, BP_LIMIT)
        return {patient_id: ValueSummary.of(mine, BP_FIELDS)}

    async def complete(self, actor: Actor, task_id: str, note: str | None) -> FollowupTask:
        """The follow-up was done (by `actor`); the elder's next routine one is planned at once."""
        t = await self.store.get(task_id, actor.tenant)
        if t is None:
            raise NotFoundError("follow-up", task_id)
        if t.done_at is not None:
            return t
        now = self.clock()
        done = replace(t, done_at=now, done_by=actor.user, note=note)
        p = await self.stores.patients.get_patient(PatientKey(actor.tenant, t.patient_id))
        nxt = self._next(p, done) if p is not None else []
        async with self.stores.transaction() as tx:
            await self.store.put(done, tx=tx)
            await self.stores.audit.append(_audit(actor, done, "followup.done", now), tx=tx)
            for n in nxt:
                await self.store.put(n, tx=tx)
                entry = _audit(system_actor(actor.tenant, "followup"), n, "followup.plan", now)
                await self.stores.audit.append(entry, tx=tx)
        return done

    def _next(self, p: Patient, done: FollowupTask) -> list[FollowupTask]:
        rules = self.settings.rules_for(p.tenant)
        routine = {routine_rule(c) for c in rules.per_year}
        if done.rule not in routine:
            return []
        new = plan(p, [done], NO_BP, self.targets_for(p.key), rules, self.clock())
        return [n for n in new if n.rule == done.rule]

    async def run(self, stop: asyncio.Event) -> None:
        await run_job("follow-up step", self.step, self.sender, stop, self.settings.interval_s)

    def _failing(self, entry: OutboxEntry, error: str) -> None:
        cand, tenant = failing_alert(entry, error, self.clock())
        raise_later(self.raise_now, self._background, cand, tenant)
