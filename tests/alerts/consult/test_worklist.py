"""The consultation's pure steps: proposed priority, the claim lease, sign and amend, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.consult import (
    FINDINGS,
    Centre,
    ConsultError,
    ConsultPriority,
    ConsultRequest,
    EcgWindow,
    Reading,
    Status,
    amend,
    claim,
    confirm_receipt,
    escalation_policy,
    propose_priority,
    release,
    sign,
    turnaround,
)
from alerts.model import Priority

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=30)
WINDOW = EcgWindow("patch-1", "II", 250.0, T0, (0.0,) * 2500, (100, 300, 480), ("N", "N", "V"))
AF = Reading(("atrial_fibrillation",), "AF", {"RR": 720.0})


def request(priority: ConsultPriority = ConsultPriority.URGENT) -> ConsultRequest:
    return ConsultRequest(
        "r-1", "c-1", "t-1", "p-1", "a-1", priority, ConsultPriority.ROUTINE, "AF?", "dr.li",
        T0, T0 + timedelta(minutes=60), WINDOW,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("episodes", "known_af", "expected"),
    [
        ([{"label": "VT", "start": 0, "end": 250}], True, "stat"),
        ([{"label": "pause", "start": 0, "end": 750}], True, "stat"),  # 3 s
        ([{"label": "pause", "start": 0, "end": 600}], True, "routine"),  # 2.4 s
        ([{"label": "AF", "start": 0, "end": 9000}], False, "urgent"),
        ([{"label": "AF", "start": 0, "end": 9000}], True, "routine"),  # known AF
        ([{"label": "bradycardia", "start": 0, "end": 9000}], False, "routine"),
    ],
)
def test_the_analyser_proposes_the_priority(
    episodes: list[dict[str, object]], known_af: bool, expected: str
) -> None:
    assert propose_priority(episodes, 250.0, known_af=known_af).value == expected


def test_a_request_never_goes_below_the_proposed_priority() -> None:
    with pytest.raises(ValueError, match="never lower"):
        ConsultRequest(
            "r", "c", "t", "p", None, ConsultPriority.ROUTINE, ConsultPriority.STAT, "?", "dr",
            T0, T0, WINDOW,
        )  # fmt: skip


def test_a_claim_is_a_lease_the_others_see_until_it_ends() -> None:
    q = claim(request(), "dr.chen", T0, LEASE)
    assert (q.status, q.holder(T0)) == (Status.CLAIMED, "dr.chen")
    with pytest.raises(ConsultError, match=r"claimed by dr\.chen"):
        claim(q, "dr.zhou", T0 + timedelta(minutes=29), LEASE)
    taken = claim(q, "dr.zhou", T0 + timedelta(minutes=31), LEASE)  # the lease ran out
    assert taken.claimed_by == "dr.zhou"
    assert taken.first_claimed_at == T0
    with pytest.raises(ConsultError):
        release(taken, "dr.chen", T0 + timedelta(minutes=32))
    assert release(taken, "dr.zhou", T0 + timedelta(minutes=32)).status is Status.REQUESTED


def test_only_the_holder_signs_and_an_amendment_keeps_the_earlier_report() -> None:
    q = claim(request(), "dr.chen", T0, LEASE)
    with pytest.raises(ConsultError):
        sign(q, "dr.zhou", T0, AF)
    final = sign(q, "dr.chen", T0 + timedelta(minutes=5), AF)
    assert final.status is Status.FINAL
    assert final.report
    assert final.report.version == 1
    with pytest.raises(ConsultError, match="amend"):
        sign(final, "dr.chen", T0, AF)
    seen = confirm_receipt(final, "dr.li", T0 + timedelta(minutes=6))
    later = amend(seen, "dr.chen", T0 + timedelta(hours=2), Reading(("sinus_rhythm",), "", {}))
    assert later.status is Status.AMENDED
    assert later.report
    assert later.report.version == 2
    assert later.amendments == (final.report,)
    assert later.receipt_by is None  # the new version is confirmed again
    assert later.final_at == T0 + timedelta(minutes=5)
    assert [h["step"] for h in later.history] == ["claim", "final", "receipt", "amend"]


def test_a_report_takes_only_coded_findings_and_known_measurements() -> None:
    with pytest.raises(ValueError, match="unknown finding"):
        Reading(("af",), "", {})
    q = claim(request(), "dr.chen", T0, LEASE)
    with pytest.raises(ValueError, match="unknown measurement"):
        sign(q, "dr.chen", T0, Reading(("sinus_rhythm",), "", {"ST": 1.0}))
    assert FINDINGS["atrial_fibrillation"].snomed == "49436004"
    assert FINDINGS["poor_quality"].snomed is None


def test_the_centres_escalation_goes_to_the_next_cardiologist_then_the_lead() -> None:
    c = Centre("c-1", "Centre", ("dr.chen", "dr.zhou"), "dr.wu", frozenset({"t-1"}))
    p = escalation_policy(c)
    assert [t.targets for t in p.tiers] == [
        ("member:dr.chen", "member:dr.zhou"), ("member:dr.zhou",), ("member:dr.wu",)
    ]  # fmt: skip
    assert p.tiers[0].deadline(Priority.HIGH) == timedelta(minutes=10)
    assert p.tiers[1].deadline(Priority.LOW) == timedelta(hours=24)


def test_turnaround_per_priority() -> None:
    done = sign(claim(request(), "dr.chen", T0 + timedelta(minutes=4), LEASE), "dr.chen",
                T0 + timedelta(minutes=20), AF)  # fmt: skip
    late = request()
    figs = {f.priority: f for f in turnaround("c-1", [done, late], T0 + timedelta(hours=2))}
    u = figs[ConsultPriority.URGENT]
    assert (u.requests, u.reported, u.median_claim_min, u.median_final_min) == (2, 1, 4.0, 20.0)
    assert u.within_deadline == 0.5  # the other one is overdue
    assert figs[ConsultPriority.STAT].requests == 0
