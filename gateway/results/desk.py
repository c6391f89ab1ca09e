"""Results back to the elder and family after a kiosk visit or a week of home measurements,
through the outbox, tracked until delivered.

`gather` reads the readings stored since its last position (the readings table's row ids, or
the reading journal's with InfluxDB; kept as the `results.notice` progress) up to those received
`quiet_s` ago (so a visit still going on is left for the next step), groups the readings each
kiosk took of one elder into visits (a gap over `visit_gap_s` starts a new one), and for each
visit stores a `ResultsNotice` (zh-CN and English, `gateway.results.compose`) with its deadline,
an outbox entry on the `results` channel and an audit row, in one transaction with the new
position. Once an hour `home_series` looks for elders with at least `home_min_readings` home BP
or glucose readings (personal devices) in the `home_series_days` since their last home notice,
and tells them the averages. The channel
sends each notice to the elder's contacts in rank order (the roster's emergency contacts: the
elder and family), each by SMS then e-mail, until one is reached; the notice records every
attempt and when and to whom it was delivered. Nobody reached: the outbox tries again with
back-off, and after three failures running raises the technical alert `notify.channel_failed`
(channel `results`) for the elder.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from devices.kinds import Kind
from devices.model import PatientKey, Reading
from gateway.actor import system_actor
from gateway.notifiers.base import Channel, Notification, Receipt
from gateway.notifiers.failing import failing_channel
from gateway.notifiers.outbox import OutboxSender
from gateway.results.compose import averages, compose
from gateway.results.settings import ResultsSettings
from gateway.runtime.jobs import Job, JobParts, raise_later, run_job
from gateway.storage.audit import AuditEntry
from gateway.storage.deliveries import Delivery
from gateway.storage.notices import ResultsNotice
from gateway.storage.outbox import OutboxEntry

__all__ = ["CHANNEL", "STREAM", "ResultsDesk", "visits"]

log = logging.getLogger(__name__)

CHANNEL: Final = "results"
STREAM: Final = "results.notice"
SCAN_MAX: Final = 5000
SERIES_CHECK_S: Final = 3600.0  # how often home series are looked for
HOME_KINDS: Final = (Kind.BP, Kind.GLUCOSE)
_NS: Final = uuid.UUID("8c4e2b71-0f3d-4a56-9b1e-5d7a3c9e2f10")
ORDER: Final = ("sms", "email")  # the elder's phone first


def visits(readings: Sequence[Reading], gap_s: float) -> list[list[Reading]]:
    """Readings of one kiosk and one elder, in time order, split where they are `gap_s` apart."""
    by_key: dict[tuple[str, str, str], list[Reading]] = {}
    for r in readings:
        by_key.setdefault((r.tenant, r.patient_id or "", r.device_id), []).append(r)
    out: list[list[Reading]] = []
    for rs in by_key.values():
        rs.sort(key=lambda r: r.ts)
        current = [rs[0]]
        for r in rs[1:]:
            if (r.ts - current[-1].ts).total_seconds() > gap_s:
                out.append(current)
                current = []
            current.append(r)
        out.append(current)
    return out


class ResultsChannel:
    name = CHANNEL
    personal = False
    slow = True

    def __init__(self, desk: ResultsDesk, personal: Sequence[Channel]) -> None:
        self.desk = desk
        self.channels = {c.name: c for c in personal if c.personal}

    async def deliver(self, n: Notification) -> Receipt:
        tenant, pid = str(n.payload["tenant"]), str(n.payload["patient_id"])
        roster = await self.desk.stores.rosters.roster(tenant)
        people = roster.emergency_contacts.get(pid, ())
        error = "no contact recorded for the elder" if not people else "no contact reached"
        for person in people:
            for name in ORDER:
                ch = self.channels.get(name)
                for c in person.contacts if ch is not None else ():
                    if c.channel != name or ch is None:
                        continue
                    r = await self._try(ch, Notification(n.key, None, n.payload, person, c.address))
                    if r.ok:
                        return await self.desk.attempted(n, f"{name}:{c.address}", None)
        return await self.desk.attempted(n, None, error)

    async def _try(self, ch: Channel, n: Notification) -> Receipt:
        try:
            r = await ch.deliver(n)
        except Exception as exc:  # a broken channel is a failed delivery, not a crash
            log.exception("channel %s failed", ch.name)
            r = Receipt(ch.name, n.address or "", False, error=type(exc).__name__)
        await self.desk.stores.deliveries.record(
            Delivery(key=n.key, alert_id=str(n.payload["notice_id"]), event="notice",
                     channel=r.channel, target=r.target, status="delivered" if r.ok else "failed",
                     attempts=r.attempts, at=self.desk.clock(), error=r.error,
                     receipt=dict(r.detail))
        )  # fmt: skip
        return r


class ResultsDesk(Job):
    """Results notices of kiosk visits and home series, read from the reading `feed` and the
    stores, composed against each elder's targets; an elder nobody could be told raises a
    technical alert through `raise_now`."""

    def __init__(self, settings: ResultsSettings, parts: JobParts) -> None:
        super().__init__(parts)
        self.settings = settings
        self.feed = parts.feed
        self.registry = parts.registry
        self.store = parts.stores.notices
        self.channel = ResultsChannel(self, parts.personal)
        self.sender = OutboxSender(
            parts.stores.outbox,
            {CHANNEL: self.channel},
            on_failing=self._failing,
            clock=parts.clock,
            max_backoff_s=settings.max_backoff_s,
            per_entry=True,  # an elder nobody can reach holds up no other elder's notice
        )
        self._background: set[asyncio.Task[None]] = set()
        self._next_series = 0.0  # monotonic time of the next home-series check

    async def attempted(self, n: Notification, to: str | None, error: str | None) -> Receipt:
        """Record one delivery attempt of a notice (and audit it)."""
        now = self.clock()
        notice_id, tenant = str(n.payload["notice_id"]), str(n.payload["tenant"])
        await self.store.attempted(notice_id, now, to, error)
        outcome = "failed" if error else "delivered"
        await self.stores.audit.append(
            AuditEntry.by(
                system_actor(tenant, "results"), now, f"results.notice.{outcome}", "patient",
                str(n.payload["patient_id"]), {"notice_id": notice_id, "to": to, "error": error},
            )
        )  # fmt: skip
        return Receipt(CHANNEL, to or "", error is None, error=error)

    async def gather(self) -> int:
        """Notices for the kiosk visits that ended since the last step; how many."""
        progress = self.stores.progress
        position = await progress.get(STREAM)
        now = self.clock()
        cutoff = now.timestamp() - self.settings.quiet_s
        last, taken = position, []
        for pos, r in await self.feed.stored_after(position, SCAN_MAX):
            if r.received_at.timestamp() > cutoff:
                break
            last = pos
            device = self.registry.get(r.device_id)
            if r.patient_id and device is not None and device.kiosk:
                taken.append(r)
        if last == position:
            return 0
        notices = [self._notice(v, now) for v in visits(taken, self.settings.visit_gap_s)]
        await self._store(notices, now, last)
        return len(notices)

    async def home_series(self) -> int:
        """A notice for each elder whose home readings of the last `home_series_days` (since
        their last home notice) make a series; how many."""
        now = self.clock()
        span = timedelta(days=self.settings.home_series_days)
        made: list[ResultsNotice] = []
        for p in await self.stores.patients.patients():
            last = await self.store.latest(p.tenant, p.patient_id, "home")
            if last is not None and now - last.created_at < span:
                continue
            since = last.created_at if last is not None else now - span
            series = [
                r
                for kind in HOME_KINDS
                for r in await self.readings.query(p.key, kind, since, now, 500)
                if (d := self.registry.get(r.device_id)) is not None and not d.kiosk
            ]
            if len(series) < self.settings.home_min_readings:
                continue
            key = f"{p.tenant}|{p.patient_id}|home|{since.isoformat()}"
            made.append(
                ResultsNotice(
                    f"rn-{uuid.uuid5(_NS, key)}", p.tenant, p.patient_id, "home", since, now,
                    now + self.settings.deadline(p.tenant),
                    compose(averages(series), self.targets_for(p.key), "home"),
                )
            )  # fmt: skip
        await self._store(made, now, None)
        return len(made)

    async def _store(
        self, notices: list[ResultsNotice], now: datetime, position: int | None
    ) -> None:
        """The notices, their outbox entries and audit rows (and the readings position)."""
        entries = [
            OutboxEntry(n.notice_id, CHANNEL, n.notice_id, "notice", self._payload(n), now)
            for n in notices
        ]
        async with self.stores.transaction() as tx:
            for n in notices:
                await self.store.add(n, tx=tx)
                await self.stores.audit.append(
                    AuditEntry.by(
                        system_actor(n.tenant, "results"), now, "results.notice.composed",
                        "patient", n.patient_id,
                        {"notice_id": n.notice_id, "source": n.source,
                         "deadline_at": n.deadline_at.isoformat()},
                    ),
                    tx=tx,
                )  # fmt: skip
            stored = await self.stores.outbox.add(entries, now, tx=tx)
            if position is not None:
                await self.stores.progress.advance(STREAM, position, now, tx=tx)
        self.sender.hand(stored)

    def _notice(self, visit: list[Reading], now: datetime) -> ResultsNotice:
        first = visit[0]
        pid = first.patient_id or ""
        key = f"{first.tenant}|{pid}|{first.device_id}|{first.seq}"
        return ResultsNotice(
            f"rn-{uuid.uuid5(_NS, key)}", first.tenant, pid, "kiosk", first.ts, now,
            now + self.settings.deadline(first.tenant),
            compose(visit, self.targets_for(PatientKey(first.tenant, pid))),
        )  # fmt: skip

    @staticmethod
    def _payload(n: ResultsNotice) -> dict[str, object]:
        return {"notice_id": n.notice_id, "tenant": n.tenant, "patient_id": n.patient_id,
                "notice": dict(n.texts)}  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        async def step() -> None:
            while await self.gather():
                pass
            if time.monotonic() >= self._next_series:
                self._next_series = time.monotonic() + SERIES_CHECK_S
                await self.home_series()

        await run_job("results notices", step, self.sender, stop, self.settings.interval_s)

    def _failing(self, entry: OutboxEntry, error: str) -> None:
        """Nobody could be told the results, three times running: a technical alert."""
        pid, tenant = str(entry.payload["patient_id"]), str(entry.payload["tenant"])
        cand = failing_channel(
            CHANNEL, pid, tenant, error, self.clock(), entry.attempts + 1,
            notice_id=entry.delivery_id,
        )  # fmt: skip
        raise_later(self.raise_now, self._background, cand, tenant)
