"""Pushing elders' records to the regional platform, through the notification outbox.

What is pushed: for each elder whose consent is on record, new vital-sign readings as
Observations, with the Patient, their devices, their `Consent` and the day's patient summary
document, in FHIR `transaction` Bundles of at most `batch_max` observations; every entry a
`PUT Type/id` of a resource whose id comes from its business identifier, so a Bundle applied
twice leaves the platform as it was after the first time (idempotent; at-least-once delivery is then
exactly-once in effect). When consent is recorded the elder's whole record (the last 90 days)
goes at once.

How: `gather` reads the readings stored since the last gathered position (the readings table's
row ids, or the reading journal's positions with InfluxDB: `gateway.storage.journal`; kept as
the `platform.push` progress), and writes the pushes into `notification_outbox`
(channel `fhir.platform`) in the same transaction as the new position, so each reading is
gathered exactly once and no push is lost when the process dies; the outbox's own sender and
sweep (`gateway.notifiers.outbox`) deliver, retry with back-off and resend after a restart. A
channel that keeps failing raises the technical alert `notify.channel_failed` for the elder.
Readings taken while an elder's consent is withdrawn are never shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from devices.model import Reading
from gateway.errors import NotFoundError
from gateway.fhir import resources as res
from gateway.fhir.platform import CHANNEL, PlatformChannel
from gateway.fhir.record import RECORD_KINDS, PatientRecord, load_record, observation
from gateway.fhir.settings import PlatformSettings
from gateway.fhir.summary import summary_document
from gateway.notifiers.failing import failing_channel
from gateway.notifiers.outbox import OutboxSender
from gateway.runtime.jobs import Job, JobParts, raise_later, run_job
from gateway.storage.consents import Consent
from gateway.storage.database import Transaction
from gateway.storage.outbox import OutboxEntry

__all__ = ["STREAM", "PlatformPush", "transaction"]

log = logging.getLogger(__name__)

STREAM = "platform.push"
RECORD_WINDOW = timedelta(days=90)
SCAN_MAX = 5000  # stored readings read per gathering step


def transaction(base: str, resources: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle that PUTs each resource at its own id (create or update)."""
    entries = []
    for r in resources:
        path = f"{r['resourceType']}/{r['id']}"
        entries.append(
            {"fullUrl": f"{base}/{path}", "resource": r, "request": {"method": "PUT", "url": path}}
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


class PlatformPush(Job):
    """The push to the platform `settings.url` names, of what the stores and the reading `feed`
    hold, with each elder's summary against their targets; a push the platform keeps refusing
    raises a technical alert through `raise_now`."""

    def __init__(self, settings: PlatformSettings, parts: JobParts) -> None:
        assert settings.url
        super().__init__(parts)
        self.settings = settings
        self.feed = parts.feed
        self.base = settings.url.rstrip("/")
        self.consents = parts.stores.consents
        self.channel = PlatformChannel(settings, self.consents, parts.stores.audit, parts.clock)
        self.sender = OutboxSender(
            parts.stores.outbox,
            {CHANNEL: self.channel},
            log_deliveries=True,
            on_failing=self._failing,
            clock=parts.clock,
            max_backoff_s=settings.max_backoff_s,
        )
        self._background: set[asyncio.Task[None]] = set()

    # -- building pushes --------------------------------------------------------------------
    def _pushes(
        self, rec: PatientRecord, readings: Sequence[Reading], key: str, now: datetime
    ) -> list[OutboxEntry]:
        p = rec.patient
        head = [res.patient(p), *(res.device(d, p.patient_id) for d in rec.devices)]
        if rec.consent is not None:  # the consent the platform may check the sharing against
            head.append(res.consent(rec.consent))
        doc = summary_document(
            rec, self.targets_for(p.key), self.settings.summary_lang, self.base, now
        )
        chunks = [
            readings[i : i + self.settings.batch_max]
            for i in range(0, len(readings), self.settings.batch_max)
        ] or [[]]
        out = []
        for i, chunk in enumerate(chunks):
            body = [*head, *(observation(r) for r in chunk)]
            if i == len(chunks) - 1:
                body.append(doc)
            payload = {
                "tenant": p.tenant,
                "patient_id": p.patient_id,
                "bundle": transaction(self.base, body),
            }
            delivery = f"fhir:{p.tenant}:{p.patient_id}:{key}:{i}"
            out.append(OutboxEntry(delivery, CHANNEL, p.patient_id, "push", payload, now))
        return out

    async def share_record(self, consent: Consent, *, tx: Transaction) -> list[OutboxEntry]:
        """Queue the elder's whole record (the last 90 days) with the `consent` being recorded,
        in the caller's transaction; hand the returned entries to `hand` once it is committed."""
        now = self.clock()
        rec = await load_record(
            self.stores,
            self.readings,
            consent.tenant,
            consent.patient_id,
            now - RECORD_WINDOW,
            now,
        )
        rec = replace(rec, consent=consent)  # not yet committed: not read back
        key = f"record.{int(now.timestamp() * 1000)}"
        return await self.stores.outbox.add(self._pushes(rec, rec.readings, key, now), now, tx=tx)

    def hand(self, stored: Sequence[OutboxEntry]) -> None:
        self.sender.hand(stored)

    async def gather(self) -> int:
        """Queue the readings stored since the last step for the elders who consent; how many
        pushes were queued."""
        progress = self.stores.progress
        position = await progress.get(STREAM)
        found = await self.feed.stored_after(position, SCAN_MAX)
        if not found:
            return 0
        sharing = await self.consents.sharing()
        by_patient: dict[tuple[str, str], list[Reading]] = {}
        for _, r in found:
            key = (r.tenant, r.patient_id or "")
            if r.kind in RECORD_KINDS and key in sharing:
                by_patient.setdefault(key, []).append(r)
        now = self.clock()
        last = found[-1][0]
        entries: list[OutboxEntry] = []
        for (tenant, pid), readings in by_patient.items():
            try:
                rec = await load_record(
                    self.stores, self.readings, tenant, pid, now - timedelta(days=1), now
                )
            except NotFoundError:
                continue
            entries += self._pushes(rec, readings, f"{position + 1}-{last}", now)
        async with self.stores.transaction() as tx:
            stored = await self.stores.outbox.add(entries, now, tx=tx)
            await progress.advance(STREAM, last, now, tx=tx)
        self.sender.hand(stored)
        return len(stored)

    # -- running ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Gather every `interval_s` and deliver through the outbox until `stop` is set."""

        async def gather_all() -> None:
            while await self.gather():
                pass

        try:
            await run_job("platform push", gather_all, self.sender, stop, self.settings.interval_s)
        finally:
            await self.channel.close()

    def _failing(self, entry: OutboxEntry, error: str) -> None:
        """The platform keeps refusing or failing a push: a technical alert for the elder
        (the outbox row's subject is the elder)."""
        tenant = str(entry.payload["tenant"])
        cand = failing_channel(
            CHANNEL, entry.alert_id, tenant, error, self.clock(), entry.attempts + 1,
            delivery_id=entry.delivery_id,
        )  # fmt: skip
        raise_later(self.raise_now, self._background, cand, tenant)
