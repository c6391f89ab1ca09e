"""Results notices sent to elders and families: what was said, by when, and whether it arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.api.deps import ReadsDep
from gateway.api.security import CurrentActor
from gateway.storage.notices import NoticeState, ResultsNotice

router = APIRouter(prefix="/results-notices", tags=["results"])


class NoticeOut(BaseModel):
    notice_id: str
    patient_id: str
    source: str
    state: NoticeState
    measured_at: datetime
    created_at: datetime
    deadline_at: datetime
    texts: dict[str, dict[str, str]]
    delivered_at: datetime | None
    delivered_to: str | None
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, n: ResultsNotice, now: datetime) -> NoticeOut:
        return cls(
            notice_id=n.notice_id, patient_id=n.patient_id, source=n.source, state=n.state(now),
            measured_at=n.measured_at, created_at=n.created_at, deadline_at=n.deadline_at,
            texts={k: dict(v) for k, v in n.texts.items()}, delivered_at=n.delivered_at,
            delivered_to=n.delivered_to, attempts=n.attempts, last_error=n.last_error,
        )  # fmt: skip


@router.get("")
async def list_notices(
    reads: ReadsDep,
    actor: CurrentActor,
    patient_id: str | None = None,
    state: NoticeState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NoticeOut]:
    """The tenant's results notices, newest first (`state` pending, overdue or delivered)."""
    now = reads.now()
    found = await reads.stores.notices.query(actor.tenant, patient_id=patient_id, limit=1000)
    return [NoticeOut.of(n, now) for n in found if state is None or n.state(now) is state][:limit]
