"""The consultation's steps as pure functions `(request, who, now, ...) -> request`, the
analyser's proposed priority, the centre's escalation policy and the turnaround figures.

Escalation is the alert desk's: each open request has a centre-side alert (`consult.request`)
whose escalation policy is built from the centre (`escalation_policy`): the roster hears at
once, the next cardiologist when the deadline passes unanswered, then the centre lead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from alerts.consult.findings import finding
from alerts.consult.model import (
    ALERT_PRIORITY,
    Centre,
    ConsultError,
    ConsultPriority,
    ConsultRequest,
    Report,
    Status,
)
from alerts.policy import EscalationPolicy, Tier

CODE: Final = "consult.request"  # centre side: a request waits for its reading
REPORT_CODE: Final = "consult.report"  # requester side: the reading came back
LONG_PAUSE_S: Final = 3.0


def propose_priority(
    episodes: Iterable[Mapping[str, Any]], fs: float, *, known_af: bool
) -> ConsultPriority:
    """VT, asystole or a pause of 3 s or more: stat; AF the elder was not known to have:
    urgent; otherwise routine.

    >>> propose_priority([{"label": "AF", "start": 0, "end": 9000}], 250.0, known_af=False).value
    'urgent'
    >>> propose_priority([{"label": "pause", "start": 0, "end": 1000}], 250.0, known_af=True).value
    'stat'
    """
    out = ConsultPriority.ROUTINE
    for ep in episodes:
        label = str(ep.get("label", ""))
        seconds = (int(ep.get("end", 0)) - int(ep.get("start", 0))) / fs
        if label in ("VT", "asystole") or (label == "pause" and seconds >= LONG_PAUSE_S):
            return ConsultPriority.STAT
        if label == "AF" and not known_af:
            out = ConsultPriority.URGENT
    return out


def escalation_policy(centre: Centre) -> EscalationPolicy:
    """The desk's tiers for the centre's requests: the roster, the next cardiologist, the lead;
    each tier has the centre's deadline for the request's priority."""
    deadlines = MappingProxyType({ALERT_PRIORITY[p]: centre.deadline(p) for p in ConsultPriority})
    roster = tuple(f"member:{m}" for m in centre.cardiologists)
    tiers = [Tier("centre", roster, deadlines)]
    if len(centre.cardiologists) > 1:
        tiers.append(Tier("next_cardiologist", (roster[1],), deadlines))
    tiers.append(Tier("lead", (f"member:{centre.lead}",), MappingProxyType({})))
    return EscalationPolicy(tenant=centre.centre_id, version="consult/1", tiers=tuple(tiers))


def _step(req: ConsultRequest, by: str, now: datetime, step: str, **changes: Any) -> ConsultRequest:
    entry = {"step": step, "by": by, "at": now.isoformat()}
    return replace(req, **changes, updated_at=now, history=(*req.history, entry))


def claim(req: ConsultRequest, by: str, now: datetime, lease: timedelta) -> ConsultRequest:
    """Take the request for reading: a lease until `now + lease`, renewed by the holder."""
    if req.status.reported:
        raise ConsultError(req.request_id, "already reported")
    holder = req.holder(now)
    if holder is not None and holder != by:
        raise ConsultError(req.request_id, f"claimed by {holder}")
    return _step(
        req, by, now, "claim",
        status=Status.CLAIMED, claimed_by=by, claimed_at=now, lease_until=now + lease,
        first_claimed_at=req.first_claimed_at or now,
    )  # fmt: skip


def release(req: ConsultRequest, by: str, now: datetime) -> ConsultRequest:
    """Give the request back to the worklist (only its holder)."""
    if req.status is not Status.CLAIMED or req.claimed_by != by:
        raise ConsultError(req.request_id, "not claimed by you")
    return _step(
        req, by, now, "release",
        status=Status.REQUESTED, claimed_by=None, claimed_at=None, lease_until=None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reading:
    """What the cardiologist signs: coded findings, free text, caliper values, critical or not."""

    findings: tuple[str, ...]
    text: str
    measurements: Mapping[str, float]
    critical: bool = False

    def __post_init__(self) -> None:
        for code in self.findings:
            finding(code)  # unknown codes are refused
        if not self.findings and not self.text.strip():
            raise ValueError("a report needs a finding or a text")


def _report(reading: Reading, version: int, by: str, now: datetime) -> Report:
    values = MappingProxyType(dict(reading.measurements))
    text = reading.text.strip()
    return Report(version, reading.findings, text, values, reading.critical, by, now)


def sign(req: ConsultRequest, by: str, now: datetime, reading: Reading) -> ConsultRequest:
    """Sign the report as final: only the holder of a current claim."""
    if req.status.reported:
        raise ConsultError(req.request_id, "already reported: amend it")
    if req.holder(now) != by:
        raise ConsultError(req.request_id, "claim it first")
    return _step(
        req, by, now, "final",
        status=Status.FINAL, report=_report(reading, 1, by, now), lease_until=None,
    )  # fmt: skip


def amend(req: ConsultRequest, by: str, now: datetime, reading: Reading) -> ConsultRequest:
    """A new version of a signed report; the one it replaces is kept in `amendments`."""
    if req.report is None:
        raise ConsultError(req.request_id, "nothing signed to amend")
    new = _report(reading, req.report.version + 1, by, now)
    return _step(
        req, by, now, "amend",
        status=Status.AMENDED, report=new, amendments=(*req.amendments, req.report),
        receipt_by=None, receipt_at=None,
    )  # fmt: skip


def confirm_receipt(req: ConsultRequest, by: str, now: datetime) -> ConsultRequest:
    """The requester read the report back (asked for critical results)."""
    if req.report is None:
        raise ConsultError(req.request_id, "no report yet")
    if req.receipt_by is not None:
        raise ConsultError(req.request_id, f"already confirmed by {req.receipt_by}")
    return _step(req, by, now, "receipt", receipt_by=by, receipt_at=now)


@dataclass(frozen=True, slots=True)
class Turnaround:
    """One centre's figures for one priority: requests, median minutes to claim and to final,
    and the share answered (final) within the deadline (of those reported or overdue)."""

    centre_id: str
    priority: ConsultPriority
    requests: int
    reported: int
    median_claim_min: float | None
    median_final_min: float | None
    within_deadline: float | None


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return round(s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2, 1)


def turnaround(
    centre_id: str, requests: Iterable[ConsultRequest], now: datetime
) -> list[Turnaround]:
    """Figures per priority over `requests` (those of one centre)."""
    out = []
    reqs = list(requests)
    for p in ConsultPriority:
        mine = [r for r in reqs if r.priority is p]
        claims = [
            (r.first_claimed_at - r.requested_at).total_seconds() / 60
            for r in mine if r.first_claimed_at is not None
        ]  # fmt: skip
        finals = [(r, r.final_at) for r in mine if r.final_at is not None]
        minutes = [(at - r.requested_at).total_seconds() / 60 for r, at in finals]
        judged = [r for r in mine if r.final_at is not None or r.due_at <= now]
        met = sum(1 for r in judged if r.final_at is not None and r.final_at <= r.due_at)
        out.append(
            Turnaround(
                centre_id, p, len(mine), len(finals), _median(claims), _median(minutes),
                round(met / len(judged), 3) if judged else None,
            )
        )  # fmt: skip
    return out
