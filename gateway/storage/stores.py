"""Every relational store of the gateway over one database, and transactions across them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from gateway.storage.alerts import AlertStore
from gateway.storage.audit import AuditStore
from gateway.storage.consents import ConsentStore
from gateway.storage.database import Database, Transaction
from gateway.storage.deadletters import DeadLetterStore
from gateway.storage.deliveries import DeliveryStore
from gateway.storage.emergencies import EmergencyStore
from gateway.storage.followups import FollowupStore
from gateway.storage.notices import NoticeStore
from gateway.storage.outbox import OutboxStore
from gateway.storage.patients import PatientStore
from gateway.storage.progress import ProgressStore
from gateway.storage.record import RecordStore
from gateway.storage.referrals import ReferralStore
from gateway.storage.rosters import RosterStore
from gateway.storage.timers import TimerStore


@dataclass(frozen=True, slots=True)
class Stores:
    """One store per concern, and `records` for alert changes (`gateway.storage.record`: the
    events, timers, audit entries, notifications and progress of one change, in one call).
    Another change that spans concerns (a referral's answer and its audit entry) writes through
    `transaction()` (the database's own `Database.transaction`) so it commits as a whole."""

    db: Database
    patients: PatientStore
    alerts: AlertStore
    timers: TimerStore
    audit: AuditStore
    referrals: ReferralStore
    rosters: RosterStore
    deliveries: DeliveryStore
    deadletters: DeadLetterStore
    progress: ProgressStore
    emergencies: EmergencyStore
    outbox: OutboxStore
    followups: FollowupStore
    notices: NoticeStore
    consents: ConsentStore
    records: RecordStore
    transaction: Callable[[], AbstractAsyncContextManager[Transaction]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "transaction", self.db.transaction)

    @classmethod
    def of(cls, db: Database) -> Stores:
        return cls(
            db,
            PatientStore(db),
            AlertStore(db),
            TimerStore(db),
            AuditStore(db),
            ReferralStore(db),
            RosterStore(db),
            DeliveryStore(db),
            DeadLetterStore(db),
            ProgressStore(db),
            EmergencyStore(db),
            OutboxStore(db),
            FollowupStore(db),
            NoticeStore(db),
            ConsentStore(db),
            RecordStore(db),
        )
