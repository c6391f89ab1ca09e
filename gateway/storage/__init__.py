"""Durable storage, one store per concern: readings (SQL or InfluxDB), alerts and their events,
escalation timers, audit, referrals, rosters, patients and devices, deliveries, dead letters; and
the alert record, everything one alert change writes in one transaction (`RecordStore.commit`).

Tables are declared in `gateway.storage.tables`; row classes never leave this package (stores
take and return domain values).
"""

from gateway.storage.alerts import AlertStore, StoredEvent
from gateway.storage.audit import AuditEntry, AuditStore
from gateway.storage.database import Database, Transaction
from gateway.storage.deadletters import DeadLetter, DeadLetterStore
from gateway.storage.deliveries import Delivery, DeliveryStore
from gateway.storage.outbox import OutboxEntry, OutboxStore
from gateway.storage.patients import Patient, PatientStore, Profile
from gateway.storage.progress import ProgressStore
from gateway.storage.readings import ReadingStore, SqlReadingStore, StoreUnavailableError
from gateway.storage.record import AlertRecord, Progress, RecordStore, Write
from gateway.storage.referrals import ReferralStore
from gateway.storage.rosters import RosterStore
from gateway.storage.stores import Stores
from gateway.storage.timers import TimerStore

__all__ = [
    "AlertRecord",
    "AlertStore",
    "AuditEntry",
    "AuditStore",
    "Database",
    "DeadLetter",
    "DeadLetterStore",
    "Delivery",
    "DeliveryStore",
    "OutboxEntry",
    "OutboxStore",
    "Patient",
    "PatientStore",
    "Profile",
    "Progress",
    "ProgressStore",
    "ReadingStore",
    "RecordStore",
    "ReferralStore",
    "RosterStore",
    "SqlReadingStore",
    "StoreUnavailableError",
    "StoredEvent",
    "Stores",
    "TimerStore",
    "Transaction",
    "Write",
]
