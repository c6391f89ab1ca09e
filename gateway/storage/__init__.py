"""Durable storage: the relational record and the readings store backends."""

from gateway.storage.care import CareStore
from gateway.storage.database import Database
from gateway.storage.readings import ReadingStore, SqlReadingStore, StoreUnavailableError
from gateway.storage.records import DeadLetter, RecordStore

__all__ = [
    "CareStore",
    "Database",
    "DeadLetter",
    "ReadingStore",
    "RecordStore",
    "SqlReadingStore",
    "StoreUnavailableError",
]
