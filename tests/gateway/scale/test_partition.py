"""Partitioning is stable, covers every partition once, and moves little when workers change."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.scale.partition import owned_by, owner_of, partition_of

P = 64


def test_stable_and_in_range() -> None:
    seen = {partition_of("t", f"p-{i}", P) for i in range(2000)}
    assert seen == set(range(P))  # 2000 patients reach every partition
    assert partition_of("t", "p-1", P) == partition_of("t", "p-1", P)


def test_rejects_no_partitions() -> None:
    with pytest.raises(ValueError, match="positive"):
        partition_of("t", "p", 0)


def test_every_partition_has_exactly_one_owner() -> None:
    workers = ["w1", "w2", "w3"]
    shares = [owned_by(w, workers, P) for w in workers]
    assert set().union(*shares) == set(range(P))
    assert sum(len(s) for s in shares) == P
    assert min(len(s) for s in shares) >= P // 3 - 10  # roughly fair


def test_a_worker_leaving_moves_only_its_partitions() -> None:
    before = {p: owner_of(p, ["w1", "w2", "w3"]) for p in range(P)}
    after = {p: owner_of(p, ["w1", "w3"]) for p in range(P)}
    moved = {p for p in range(P) if before[p] != after[p]}
    assert moved == {p for p in range(P) if before[p] == "w2"}


def test_a_worker_joining_takes_about_its_share() -> None:
    before = {p: owner_of(p, ["w1", "w2"]) for p in range(P)}
    after = {p: owner_of(p, ["w1", "w2", "w3"]) for p in range(P)}
    moved = Counter(after[p] for p in range(P) if before[p] != after[p])
    assert set(moved) == {"w3"}


def test_no_workers_no_owner() -> None:
    assert owner_of(3, []) is None
