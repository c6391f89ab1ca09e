"""Partition ownership through JetStream key-value buckets: heartbeats and leases with a TTL.

Every worker puts `w.<id>` into the members bucket each beat; the bucket's TTL makes a dead
worker's key vanish. From the live members every worker computes the same wanted owner for each
partition (rendezvous hashing, `gateway.scale.partition`). A partition is held through the key
`p.<n>` in the leases bucket, created only if absent (compare-and-set) and renewed with the
revision the holder last wrote: a holder that was paused past the TTL finds its revision gone
and stops, so two workers never keep the same partition for longer than one beat.

Hand-over: a worker that is no longer the wanted owner of a partition finishes its batch,
snapshots it and deletes the lease; the wanted owner creates the lease at its next beat. A dead
worker's leases simply expire.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    BadRequestError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
)
from nats.js.kv import KeyValue

from gateway.scale.partition import owned_by

log = logging.getLogger(__name__)

# JetStream's answer when a compare-and-set names a revision that is no longer the last one
# (nats-py raises it as a plain bad request from some calls).
WRONG_LAST_SEQUENCE = 10071


def _wrong_revision(exc: Exception) -> bool:
    return isinstance(exc, KeyWrongLastSequenceError | KeyNotFoundError) or (
        isinstance(exc, BadRequestError) and exc.err_code == WRONG_LAST_SEQUENCE
    )


@dataclass(frozen=True, slots=True)
class Buckets:
    members: str = "hmg_members"
    leases: str = "hmg_leases"


@dataclass(slots=True)
class Membership:
    """This worker's view of the members and its own leases (revision per held partition)."""

    js: JetStreamContext
    worker_id: str
    partitions: int
    ttl_s: float
    replicas: int = 1
    buckets: Buckets = field(default_factory=Buckets)
    held: dict[int, int] = field(default_factory=dict)
    _members: KeyValue | None = None
    _leases: KeyValue | None = None

    async def open(self) -> None:
        self._members = await self._bucket(self.buckets.members)
        self._leases = await self._bucket(self.buckets.leases)

    async def _bucket(self, name: str) -> KeyValue:
        config = KeyValueConfig(
            bucket=name, ttl=self.ttl_s, history=1, replicas=self.replicas,
            storage=StorageType.FILE,
        )  # fmt: skip
        return await self.js.create_key_value(config)

    @property
    def members(self) -> KeyValue:
        assert self._members is not None, "open() first"
        return self._members

    @property
    def leases(self) -> KeyValue:
        assert self._leases is not None, "open() first"
        return self._leases

    async def beat(self) -> set[int]:
        """Announce this worker; return the partitions it should own among the live members."""
        await self.members.put(f"w.{self.worker_id}", b"1")
        try:
            keys = await self.members.keys()
        except NoKeysError:
            keys = []
        live = sorted(k.removeprefix("w.") for k in keys if k.startswith("w."))
        if self.worker_id not in live:
            live.append(self.worker_id)
        return owned_by(self.worker_id, live, self.partitions)

    async def acquire(self, partition: int) -> bool:
        try:
            rev = await self.leases.create(f"p.{partition}", self.worker_id.encode())
        except (KeyWrongLastSequenceError, BadRequestError) as exc:
            if not _wrong_revision(exc):
                raise
            return False  # someone holds it (its lease has not expired yet)
        self.held[partition] = rev
        return True

    async def renew(self, partition: int) -> bool:
        """Keep a held lease; False if it was lost (expired and taken, or deleted)."""
        rev = self.held.get(partition)
        if rev is None:
            return False
        try:
            self.held[partition] = await self.leases.update(
                f"p.{partition}", self.worker_id.encode(), last=rev
            )
        except (KeyWrongLastSequenceError, KeyNotFoundError, BadRequestError) as exc:
            if not _wrong_revision(exc):
                raise
            log.warning("lost the lease of partition %d", partition)
            self.held.pop(partition, None)
            return False
        return True

    async def release(self, partition: int) -> None:
        rev = self.held.pop(partition, None)
        if rev is None:
            return
        try:
            await self.leases.delete(f"p.{partition}", last=rev)
        except (KeyWrongLastSequenceError, KeyNotFoundError, BadRequestError) as exc:
            if not _wrong_revision(exc):
                raise
            log.warning("lease of partition %d was already gone at release", partition)

    async def leave(self) -> None:
        for p in list(self.held):
            await self.release(p)
        with contextlib.suppress(KeyNotFoundError):
            await self.members.delete(f"w.{self.worker_id}")
