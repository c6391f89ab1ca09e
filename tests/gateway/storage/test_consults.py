"""Consultation storage on each backend: centres and requests round-trip, lists by deadline,
and a step against a request that changed since it was read is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.consult import (
    Centre,
    ConsultPriority,
    ConsultRequest,
    EcgWindow,
    Reading,
    Status,
    claim,
    sign,
)
from gateway.storage import Stores
from gateway.storage.consults import ConsultStore, StaleRequestError

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=30)
WINDOW = EcgWindow(
    "patch-1", "II", 250.0, T0, (0.0, 0.5, 1.0, -0.25), (1, 3), ("N", "V"),
    ({"label": "AF", "start": 0, "end": 4, "mean_hr": None},), 80.0,
)  # fmt: skip


def request(rid: str, priority: ConsultPriority, due_min: int) -> ConsultRequest:
    return ConsultRequest(
        rid, "c-1", "t-1", "p-1", None, priority, ConsultPriority.ROUTINE, "AF?", "dr.li", T0,
        T0 + timedelta(minutes=due_min), WINDOW, history=({"step": "request"},),
    )  # fmt: skip


async def test_centres_and_requests_round_trip(stores: Stores) -> None:
    store = ConsultStore(stores.db)
    c = Centre("c-1", "Heart centre", ("dr.a", "dr.b"), "dr.lead", frozenset({"t-1", "t-2"}))
    await store.save_centre(c, T0)
    assert await store.centre("c-1") == c
    late = request("r-late", ConsultPriority.ROUTINE, 24 * 60)
    soon = request("r-soon", ConsultPriority.STAT, 10)
    for q in (late, soon):
        await store.save(q)
    assert [q.request_id for q in await store.query(centre_id="c-1")] == ["r-soon", "r-late"]
    done = sign(claim(soon, "dr.a", T0, LEASE), "dr.a", T0 + timedelta(minutes=5),
                Reading(("atrial_fibrillation",), "AF", {"RR": 700.0}, critical=True))  # fmt: skip
    await store.save(done, expect=soon)
    got = await store.get("r-soon")
    assert got == done
    assert got is not None
    assert got.status is Status.FINAL
    assert got.ecg == WINDOW
    listed = await store.query(tenant="t-1", open_only=True)
    assert [q.request_id for q in listed] == ["r-late"]


async def test_a_step_on_a_request_that_changed_meanwhile_is_refused(stores: Stores) -> None:
    store = ConsultStore(stores.db)
    q = request("r-1", ConsultPriority.URGENT, 60)
    await store.save(q)
    first = claim(q, "dr.a", T0, LEASE)
    await store.save(first, expect=q)
    second = claim(q, "dr.b", T0, LEASE)  # read before the first claim was stored
    with pytest.raises(StaleRequestError):
        await store.save(second, expect=q)
    stored = await store.get("r-1")
    assert stored is not None
    assert stored.claimed_by == "dr.a"
    assert replace(stored, ecg=WINDOW) == first
