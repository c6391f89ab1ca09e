"""Patient partitions: which of P partitions a (tenant, patient) belongs to, and who owns which.

A patient's readings of every kind go to one partition, so one worker sees a patient's BP,
glucose and ECG together (the multi-signal detectors need that) and holds that patient's state.
P is fixed per deployment: changing it moves patients between partitions and their snapshots.

Ownership uses rendezvous (highest-random-weight) hashing over the live workers: every worker
computes the same owner for every partition from the same list, and a worker joining or leaving
moves only the partitions it gains or loses (about P/n), never the others.

>>> partition_of("t1", "p-001", 64) == partition_of("t1", "p-001", 64)
True
>>> sorted(owned_by("w1", ["w1"], 4))
[0, 1, 2, 3]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def _hash64(text: str) -> int:
    """A hash that is the same in every process and Python version (unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def partition_of(tenant: str, patient_id: str, partitions: int) -> int:
    if partitions <= 0:
        raise ValueError("partitions must be positive")
    return _hash64(f"{tenant}\x1f{patient_id}") % partitions


def owner_of(partition: int, workers: Iterable[str]) -> str | None:
    """The live worker that should own `partition` (None when no worker is alive)."""
    best: tuple[int, str] | None = None
    for w in workers:
        weight = (_hash64(f"{w}\x1f{partition}"), w)
        if best is None or weight > best:
            best = weight
    return None if best is None else best[1]


def owned_by(worker: str, workers: Sequence[str], partitions: int) -> set[int]:
    """The partitions `worker` should own while `workers` are alive."""
    return {p for p in range(partitions) if owner_of(p, workers) == worker}


def subject(prefix: str, partition: int) -> str:
    """The JetStream subject a partition's readings are published on."""
    return f"{prefix}.{partition}"
